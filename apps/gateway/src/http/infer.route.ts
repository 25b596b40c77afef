import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { InferenceError, checkRequestId, decodeInferRequest, encodeInferResponse, encodeInferResponseJson, invalidArgument, requestIdProblem } from '@infergraph/protocol';
import { GraphInferenceService } from '@infergraph/engine';
import { discardRest } from '@infergraph/http-server';
import type { GraphSpec } from '@infergraph/spec';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { InFlightLimiter } from '../in-flight.limiter';
import { PredictAuthenticator, challengeOf, withPrincipal, type Principal } from '../auth/predict-authenticator';
import { bodyTooLargeMessage, errorResponse, isServerFault } from './error-response';
import { RawHttpRoutes } from './raw-routes';

interface InferTarget {
  readonly graph: string;
  readonly version: string | undefined;
}

/**
 * `POST /v2/models/{graph}[/versions/{version}]/infer`, answered on node:http before Fastify (see
 * RawHttpRoutes): for a small model, Fastify's routing and reply pipeline cost as much as the model. It
 * stays a thin shell over GraphInferenceService, and errors leave exactly as through the exception filter
 * (the same `errorResponse`).
 */
@Injectable()
export class InferRoute implements OnModuleInit {
  private readonly logger = new Logger('http');

  constructor(
    private readonly routes: RawHttpRoutes,
    private readonly inference: GraphInferenceService,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly authenticator: PredictAuthenticator,
    private readonly limiter: InFlightLimiter,
  ) {}

  private readonly leave = (): void => this.limiter.leave();

  onModuleInit(): void {
    this.routes.add((req, res) => this.handle(req, res));
  }

  private handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const target = inferTarget(req.url ?? '');
    if (target === undefined) return false;
    const requestId = headerValue(req.headers['x-request-id']);
    let auth: GraphSpec['spec']['auth'];
    try {
      auth = this.inference.ready(target.graph, target.version).spec.spec.auth; // 404 / 503 before reading the body
      checkRequestId(requestId, 'x-request-id header'); // it goes back in the response headers
      // Overload: refuse at once (503, Retry-After) instead of queueing until every client times out.
      this.limiter.enter();
    } catch (err) {
      this.fail(req, res, err, requestId);
      discardRest(req, this.config.http.bodyTimeoutMs);
      return true;
    }
    res.on('close', this.leave); // 'close' comes once per response
    const read = (principal: Principal | undefined): void =>
      readBody(req, this.config.bodyLimitBytes, this.config.http.bodyTimeoutMs, (err, body) => {
        if (err !== undefined) return this.fail(req, res, err, requestId);
        this.serve(target, req, res, body, requestId, principal).catch((e: unknown) => this.fail(req, res, e, requestId));
      });
    // Open graphs (no spec.auth) skip authentication entirely; others are checked before the body is read.
    if (auth === undefined) read(undefined);
    else {
      this.authenticator.authenticate(target.graph, auth, req.headers).then(read, (err: unknown) => {
        this.fail(req, res, err, requestId);
        discardRest(req, this.config.http.bodyTimeoutMs);
      });
    }
    return true;
  }

  private async serve(target: InferTarget, req: IncomingMessage, res: ServerResponse, body: Buffer, requestId: string | undefined, principal: Principal | undefined): Promise<void> {
    if (body.byteLength === 0) throw invalidArgument('request body is empty; expected an inference request in JSON');
    const jsonLengthHeader = headerValue(req.headers['inference-header-content-length']);
    const request = decodeInferRequest(body, jsonLengthHeader === undefined ? undefined : Number(jsonLengthHeader));
    const response = await this.inference.infer({ graph: target.graph, version: target.version, request, requestId, headers: withPrincipal(flatHeaders(req.headers), principal) });
    // The usual answer: JSON text, which node:http sends in one write with the headers. It then encodes the
    // headers as UTF-8 with the body, not as Latin-1: only for header values in ASCII (a request id may hold é).
    const text = isAscii(response.id) && (response.route === undefined || isAscii(response.route)) ? encodeInferResponseJson(response, request.outputs, request.binaryOutput) : undefined;
    if (text !== undefined) {
      res.writeHead(200, answerHeaders(response.id, response.route, 'application/json', Buffer.byteLength(text)));
      res.end(text);
      return;
    }
    const encoded = encodeInferResponse(response, request.outputs, request.binaryOutput);
    const headers = answerHeaders(response.id, response.route, encoded.contentType, encoded.body.byteLength);
    if (encoded.jsonLength !== undefined) headers['inference-header-content-length'] = encoded.jsonLength;
    res.writeHead(200, headers);
    res.end(encoded.body);
  }

  private fail(req: IncomingMessage, res: ServerResponse, err: unknown, requestId: string | undefined): void {
    const { status, message, body, retryAfterSeconds } = errorResponse(err, req.method ?? 'POST', req.url ?? '', this.config.bodyLimitBytes);
    if (isServerFault(status)) this.logger.error(`${req.method ?? ''} ${req.url ?? ''} -> ${status}: ${message}`, err instanceof Error ? err.stack : undefined);
    if (res.headersSent || res.destroyed) return;
    const headers: OutgoingHttpHeaders = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (requestId !== undefined && requestIdProblem(requestId) === undefined) headers['x-request-id'] = requestId;
    if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
    const challenge = challengeOf(err);
    if (challenge !== undefined) headers['www-authenticate'] = challenge;
    if (status === 408) headers['connection'] = 'close';
    res.writeHead(status, headers);
    res.end(body);
  }
}

/** Parsed infer paths: a service sees few distinct ones, so each is split and unescaped once. */
const TARGETS = new Map<string, InferTarget | undefined>();
const MAX_CACHED_TARGETS = 1024;

/** The graph and version of an infer path, or undefined for any other path (left to Fastify). */
export function inferTarget(url: string): InferTarget | undefined {
  const cached = TARGETS.get(url);
  if (cached !== undefined || TARGETS.has(url)) return cached;
  const target = parseInferTarget(url);
  if (TARGETS.size >= MAX_CACHED_TARGETS) TARGETS.clear(); // many distinct paths (a scan): stop remembering old ones
  TARGETS.set(url, target);
  return target;
}

function parseInferTarget(url: string): InferTarget | undefined {
  const PREFIX = '/v2/models/';
  if (!url.startsWith(PREFIX)) return undefined;
  const query = url.indexOf('?');
  const parts = url.slice(PREFIX.length, query < 0 ? undefined : query).split('/');
  let target: InferTarget | undefined;
  if (parts.length === 2 && parts[1] === 'infer') target = { graph: parts[0] as string, version: undefined };
  else if (parts.length === 4 && parts[1] === 'versions' && parts[3] === 'infer') target = { graph: parts[0] as string, version: parts[2] };
  if (target === undefined || target.graph === '' || target.version === '') return undefined;
  try {
    return { graph: decodeURIComponent(target.graph), version: target.version === undefined ? undefined : decodeURIComponent(target.version) };
  } catch {
    return undefined; // malformed escapes: Fastify answers those
  }
}

/**
 * Reads a request body up to `limit` bytes: 413 as soon as it is known to be larger, after which the rest is
 * dropped as it comes (the connection stays usable), within the same stall bound. A body that stalls for
 * `stallMs` between chunks is a 408 and its connection is closed once answered: slow senders cannot hold the
 * gateway.
 */
function readBody(req: IncomingMessage, limit: number, stallMs: number, done: (err: unknown, body: Buffer) => void): void {
  const tooLarge = (): void => {
    done(new InferenceError('PAYLOAD_TOO_LARGE', bodyTooLargeMessage(limit)), EMPTY);
    discardRest(req, stallMs);
  };
  if (Number(req.headers['content-length']) > limit) return tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const stalled = (): void => {
    if (finished) return;
    finished = true;
    // The answer carries `connection: close` (see fail), so the stalled connection ends with it.
    done({ statusCode: 408, message: `request body stalled: no data for ${stallMs} ms after ${size} bytes (BODY_TIMEOUT_MS)` }, EMPTY);
  };
  const timer = setTimeout(stalled, stallMs).unref();
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    timer.refresh();
    size += chunk.byteLength;
    if (size > limit) {
      finished = true;
      clearTimeout(timer);
      return tooLarge();
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    clearTimeout(timer);
    if (finished) return;
    finished = true;
    done(undefined, chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
  });
  req.on('error', (err) => {
    clearTimeout(timer);
    if (finished) return;
    finished = true;
    // The client went away mid-body (or sent a broken one): its fault, not logged as the server's.
    done(invalidArgument(`request body not received in full: ${err.message}`), EMPTY);
  });
}

const EMPTY = Buffer.alloc(0);

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** The headers of an answer (one object literal of one shape: node:http reads it key by key). */
function answerHeaders(requestId: string, route: string | undefined, contentType: string, length: number): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = { 'cache-control': 'no-store', 'x-request-id': requestId, 'content-type': contentType, 'content-length': length };
  if (route !== undefined) headers['x-infergraph-route'] = route;
  return headers;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Request headers as single strings. Node already joins repeated headers except a few (set-cookie): copy only then. */
function flatHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  for (const k in headers) {
    if (typeof headers[k] !== 'string') {
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(headers)) if (v !== undefined) out[key] = Array.isArray(v) ? v.join(', ') : v;
      return out;
    }
  }
  return headers as Record<string, string>;
}
