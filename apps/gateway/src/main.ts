import 'reflect-metadata';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH } from '@infergraph/protocol';
import { StructuredLogger, TracingSdk } from '@infergraph/telemetry';
import { AppModule } from './app.module';
import { RawHttpRoutes } from './http/raw-routes';
import { loadGatewayConfig } from './config/gateway.config';

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
  const rawRoutes = new RawHttpRoutes();
  const adapter = new FastifyAdapter({
    bodyLimit: config.bodyLimitBytes,
    serverFactory: (handler: (req: IncomingMessage, res: ServerResponse) => void, options: FastifyServerTimeouts) => {
      const server = createServer((req, res) => {
        if (!rawRoutes.dispatch(req, res)) handler(req, res);
      });
      // The timeouts Fastify sets on a server it makes itself, so the factory changes none of them.
      server.keepAliveTimeout = options.keepAliveTimeout ?? 72_000;
      server.requestTimeout = options.requestTimeout ?? 0;
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
    transport: Transport.GRPC,
    options: {
      package: 'inference',
      protoPath: V2_PROTO_PATH,
      url: `${config.host}:${config.grpcPort}`,
      loader: { ...V2_PROTO_LOADER_OPTIONS },
      maxReceiveMessageLength: config.bodyLimitBytes,
      maxSendMessageLength: config.bodyLimitBytes,
    },
  });
  app.enableShutdownHooks();
  await app.startAllMicroservices();
  await app.listen(config.port, config.host);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  Logger.log(`gateway listening on http://${config.host}:${port} and grpc://${config.host}:${config.grpcPort} (graphs from ${config.graphDirs.join(', ')})`, 'gateway');
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
