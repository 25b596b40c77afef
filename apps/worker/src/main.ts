import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { startLoadingThread } from '@infergraph/engine';
import { StructuredLogger, TracingSdk } from '@infergraph/telemetry';
import { WorkerModule } from './worker.module';
import { WorkerGrpcServer } from './worker-grpc.server';
import { loadWorkerConfig } from './worker.config';

/** A worker process: loads graphs and serves their nodes over V2 gRPC for gateways to call. */
async function bootstrap(): Promise<void> {
  const config = loadWorkerConfig();
  const t = config.telemetry;
  const logger = new StructuredLogger({ component: 'worker', format: t.logFormat, level: t.logLevel });
  const tracing = t.tracing ? await TracingSdk.start(t.serviceName ?? 'infergraph-worker') : undefined;
  // An application context, not a NestJS microservice: WorkerGrpcServer serves gRPC on grpc-js itself.
  const app = await NestFactory.createApplicationContext(WorkerModule.forConfig(config, logger, tracing), { logger });
  app.enableShutdownHooks();
  const port = app.get(WorkerGrpcServer).port ?? config.port;
  Logger.log(`worker listening on grpc://${config.host}:${port} (graphs from ${config.graphDirs.join(', ')})`, 'worker');
  // Graph documents arrive while this process serves (catalogues, assignments, reloads): they are parsed in a
  // background thread, started now, which compiles its parser before the first one comes.
  startLoadingThread();
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
