import 'reflect-metadata';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { Logger, ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MicroserviceOptions } from '@nestjs/microservices';
import { GraphInferenceService, startLoadingThread } from '@infergraph/engine';
import { StructuredLogger, TracingSdk } from '@infergraph/telemetry';
import { describeRejectedTls, reloadingServerCredentials, watchTlsFiles } from '@infergraph/transport-grpc';
import { PredictAuthenticator } from './auth/predict-authenticator';
import { InFlightLimiter } from './in-flight.limiter';
import { AppModule } from './app.module';
import { RawHttpRoutes } from './http/raw-routes';
import { V2GrpcStrategy } from './grpc/v2-grpc.strategy';
import { loadGatewayConfig } from './config/gateway.config';
import { describeCertificate, reloadTlsOnChange } from './http/tls-reloader';
import { answerLiveness, deadlineOptions, guardServer } from './http/connection-guards';
import { ServingPool, SERVING_ENV } from './serving/serving-pool';
import { runServingProcess } from './serving/serving-process';

/** The server settings Fastify passes its serverFactory. */
interface FastifyServerTimeouts {
  readonly keepAliveTimeout?: number;
  readonly requestTimeout?: number;
  readonly connectionTimeout?: number;
}

async function bootstrap(): Promise<void> {
  const config = loadGatewayConfig();
  const t = config.telemetry;
  const logger = new StructuredLogger({ component: 'gateway', format: t.logFormat, level: t.logLevel });
  const tracing = t.tracing ? await TracingSdk.start(t.serviceName ?? 'infergraph-gateway') : undefined;
  // The inference route is answered on node:http ahead of Fastify (RawHttpRoutes); the rest is Fastify's.
  // Liveness comes first, so it stays fast while the infer path sheds load.
  // TLS files are checked before anything listens: a bad pair stops the start with the file named. One watcher
  // serves both ports, so a renewal is read once.
  const tls = config.tls === undefined ? undefined : { files: config.tls, watched: watchTlsFiles(config.tls, config.tls.reloadMs) };
  const rawRoutes = new RawHttpRoutes();
  rawRoutes.add(answerLiveness);
  // Every request the HTTP port takes, and those serving processes pass back (SERVING_PROCESSES).
  let dispatchRequest: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void, options: FastifyServerTimeouts) => {
      // Slow or idle clients cannot hold the server (connection-guards.ts); a stalled body is the infer route's 408.
      const serverOptions = deadlineOptions(config.http);
      // Set once the server exists.
      let guard: (req: IncomingMessage, res: ServerResponse) => void = () => undefined;
      const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
        guard(req, res);
        if (!rawRoutes.dispatch(req, res)) handler(req, res);
      };
      dispatchRequest = dispatch;
      let server: Server;
      if (tls === undefined) server = createServer(serverOptions, dispatch);
      else {
        const secure = createTlsServer({ ...serverOptions, ...tls.watched.identity.current }, dispatch);
        reloadTlsOnChange(secure, tls.watched.identity, new Logger('tls'));
        server = secure;
      }
      guard = guardServer(server, config.http);
      server.setTimeout(options.connectionTimeout ?? 0);
      return server;
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forConfig(config, logger, tracing, rawRoutes), adapter, { logger, bodyParser: false });
  // Bodies stay raw bytes: the protocol codec parses JSON itself (better errors, binary tensor data).
  const fastify = app.getHttpAdapter().getInstance();
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.connectMicroservice<MicroserviceOptions>({
    strategy: new V2GrpcStrategy(app.get(GraphInferenceService), app.get(PredictAuthenticator), app.get(InFlightLimiter), {
      host: config.host,
      port: config.grpcPort,
      maxReceiveMessageLength: config.bodyLimitBytes,
      maxSendMessageLength: config.bodyLimitBytes,
      // Calls in flight at shutdown finish, as REST requests do, within the bound a whole REST request has.
      shutdownTimeoutMs: config.http.requestTimeoutMs,
      ...(tls === undefined ? {} : { credentials: reloadingServerCredentials(tls.watched, (why) => Logger.warn(describeRejectedTls('the gRPC port', why), 'tls')) }),
    }),
  });
  // Every shutdown signal but SIGHUP, which rescans GRAPHS_DIR (GraphLoadingService). Readiness turns false the
  // moment one arrives, ahead of every shutdown step (NestJS runs those level by level; StoppingService's delay
  // is one of them).
  const stopSignals = Object.values(ShutdownSignal).filter((s) => s !== ShutdownSignal.SIGHUP);
  const inference = app.get(GraphInferenceService);
  for (const signal of stopSignals) process.once(signal, () => inference.beginStopping(`stopping (${signal})`));
  app.enableShutdownHooks(stopSignals);
  await app.startAllMicroservices();
  if (dispatchRequest !== undefined) await app.get(ServingPool).start(fastify.server, dispatchRequest);
  await app.listen(config.port, config.host);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const scheme = tls === undefined ? ['http', 'grpc'] : ['https', 'grpcs'];
  Logger.log(`gateway listening on ${scheme[0]}://${config.host}:${port} and ${scheme[1]}://${config.host}:${config.grpcPort} (graphs from ${config.graphDirs.join(', ')})`, 'gateway');
  if (tls !== undefined) Logger.log(`TLS certificate: ${describeCertificate(tls.watched.identity.current.cert)}; renewed files are picked up within ${tls.files.reloadMs} ms`, 'tls');
  // Graph documents arrive while this process serves (catalogues, assignments, reloads): they are parsed in a
  // background thread, started now, which compiles its parser before the first one comes.
  startLoadingThread();
}

// The gateway, or one of its serving processes (SERVING_PROCESSES), which it starts as this program again.
(process.env[SERVING_ENV.index] === undefined ? bootstrap() : runServingProcess()).catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
