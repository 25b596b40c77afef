import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { V2_PROTO_LOADER_OPTIONS, V2_PROTO_PATH } from '@infergraph/protocol';
import { StructuredLogger, TracingSdk } from '@infergraph/telemetry';
import { WorkerModule } from './worker.module';
import { loadWorkerConfig } from './worker.config';

/** A worker process: loads graphs and serves their nodes over V2 gRPC for gateways to call. */
async function bootstrap(): Promise<void> {
  const config = loadWorkerConfig();
  const t = config.telemetry;
  const logger = new StructuredLogger({ component: 'worker', format: t.logFormat, level: t.logLevel });
  const tracing = t.tracing ? TracingSdk.start(t.serviceName ?? 'infergraph-worker') : undefined;
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(WorkerModule.forConfig(config, logger, tracing), {
    logger,
    transport: Transport.GRPC,
    options: {
      package: 'inference',
      protoPath: V2_PROTO_PATH,
      url: `${config.host}:${config.port}`,
      loader: { ...V2_PROTO_LOADER_OPTIONS },
      maxReceiveMessageLength: config.bodyLimitBytes,
      maxSendMessageLength: config.bodyLimitBytes,
    },
  });
  app.enableShutdownHooks();
  await app.listen();
  Logger.log(`worker listening on grpc://${config.host}:${config.port} (graphs from ${config.graphDirs.join(', ')})`, 'worker');
}

bootstrap().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
