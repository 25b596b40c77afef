import http from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { ObjectSourceError, type ObjectSource, type OpenedObject } from './object-source.port';
import { trustedCertificates } from './trusted-ca';

const MAX_REDIRECTS = 5;

export interface HttpsSourceOptions {
  /** Extra trusted CA certificates (PEM): added to Node's roots, never replacing verification. */
  readonly extraCa: string | undefined;
  /** Whether a URL (the first and each redirect) may be fetched; a reason when not. */
  readonly refuse: (url: URL) => string | undefined;
  /** A socket silent this long fails the attempt. */
  readonly idleTimeoutMs: number;
}

/** An https:// (or allowed loopback http://) model file, with Range / If-Range resumption. */
export class HttpsObjectSource implements ObjectSource {
  private readonly agent: https.Agent;

  constructor(
    readonly uri: string,
    private readonly options: HttpsSourceOptions,
  ) {
    // keepAlive off: one download, then the socket goes.
    const ca = trustedCertificates(options.extraCa);
    this.agent = new https.Agent(ca === undefined ? {} : { ca });
  }

  async open(offset: number, validator: string | undefined, signal: AbortSignal): Promise<OpenedObject> {
    let url = new URL(this.uri);
    for (let hop = 0; ; hop++) {
      const refused = this.options.refuse(url);
      if (refused !== undefined) throw new ObjectSourceError(refused, true);
      const headers: Record<string, string> = { 'accept-encoding': 'identity', 'user-agent': 'infergraph-model-store' };
      if (offset > 0) {
        headers['range'] = `bytes=${offset}-`;
        if (validator !== undefined) headers['if-range'] = validator;
      }
      const res = await this.request(url, headers, signal);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location !== undefined) {
        res.resume();
        if (hop >= MAX_REDIRECTS) throw new ObjectSourceError(`more than ${MAX_REDIRECTS} redirects`, true);
        url = new URL(res.headers.location, url);
        continue;
      }
      const etag = res.headers.etag;
      // Only a strong validator can vouch that a range continues the same bytes.
      const strong = etag !== undefined && !etag.startsWith('W/') ? etag : undefined;
      if (status === 206 && offset > 0) {
        const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers['content-range'] ?? '');
        if (range === null || Number(range[1]) !== offset) {
          res.resume();
          throw new ObjectSourceError(`the server answered a range from ${offset} with Content-Range ${JSON.stringify(res.headers['content-range'])}`, false);
        }
        const total = range[3] === '*' ? undefined : Number(range[3]);
        return { resumed: true, totalBytes: total, validator: strong, body: res };
      }
      if (status === 200) {
        const length = res.headers['content-length'];
        return { resumed: false, totalBytes: length === undefined ? undefined : Number(length), validator: strong, body: res };
      }
      res.resume();
      // 416: the bytes held are not a prefix of this object any more; the caller starts over.
      throw new ObjectSourceError(`HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''} from ${url.origin}${url.pathname}`, status !== 416 && status < 500 && status !== 408 && status !== 429);
    }
  }

  private request(url: URL, headers: Record<string, string>, signal: AbortSignal): Promise<http.IncomingMessage & Readable> {
    return new Promise((resolve, reject) => {
      const request = url.protocol === 'https:' ? https.request(url, { agent: this.agent, headers, signal }) : http.request(url, { headers, signal });
      request.setTimeout(this.options.idleTimeoutMs, () => request.destroy(new Error(`no data for ${this.options.idleTimeoutMs} ms`)));
      request.on('response', (res) => {
        res.setTimeout(this.options.idleTimeoutMs, () => res.destroy(new Error(`no data for ${this.options.idleTimeoutMs} ms`)));
        resolve(res);
      });
      request.on('error', reject);
      request.end();
    });
  }
}
