import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { StructuredLogger } from '@infergraph/telemetry';
import { ControllerModule } from './controller.module';
import { loadControllerConfig } from './controller.config';
import { MAX_GRAPH_BYTES, warmUpGraphParser } from '@infergraph/spec';
import { startLoadingThread } from '@infergraph/engine';
import { KubeClient } from '@infergraph/kube';
import { endConnectionsOnClose } from '@infergraph/http-server';

/** The controller process: places node replicas on workers and publishes the routing table. */
async function bootstrap(): Promise<void> {
  const config = loadControllerConfig(process.env, process.cwd(), () => KubeClient.podNamespace());
  const logger = new StructuredLogger({ component: 'controller', format: config.telemetry.logFormat, level: config.telemetry.logLevel });
  // Bodies are graph documents: larger than a graph may be is refused with 413 before it is read.
  const adapter = new FastifyAdapter({ bodyLimit: MAX_GRAPH_BYTES });
  const app = await NestFactory.create<NestFastifyApplication>(ControllerModule.forConfig(config), adapter, { logger, bodyParser: false });
  const fastify = app.getHttpAdapter().getInstance();
  // At shutdown, a kept-alive admin connection ends with its last answer instead of holding the exit for
  // Fastify's 72 s keep-alive timeout (a leader stopping must hand over within its grace period).
  const lastAnswers = endConnectionsOnClose(fastify.server);
  fastify.server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => lastAnswers(res));
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_GRAPH_BYTES }, (_req, body, done) => done(null, body));
  app.enableShutdownHooks();
  await app.listen(config.port, config.host);
  const address = fastify.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  Logger.log(`controller admin API on http://${config.host}:${port}`, 'controller');
  // Admin POSTs and PUTs are parsed in a background thread, started now; InferenceGraph objects and stored
  // files are parsed here, by the parser compiled now, a parse per turn.
  startLoadingThread();
  warmUpGraphParser().catch((err: unknown) => Logger.warn(`graph parser warm-up: ${err instanceof Error ? err.message : String(err)}`, 'controller'));
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
