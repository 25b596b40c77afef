import { z } from 'zod';

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

const flag = z.enum(['true', 'false', '1', '0', '']).default('false').transform((v) => v === 'true' || v === '1');

/**
 * Environment variables every process reads for logs and traces; apps extend their schemas with it.
 * Tracing follows the OpenTelemetry SDK's own variables: it is on when a traces exporter or an OTLP
 * endpoint is named and OTEL_SDK_DISABLED is not true; the SDK reads the rest (OTEL_EXPORTER_OTLP_*,
 * OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*...).
 */
export const telemetryEnvShape = {
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  LOG_FORMAT: z.enum(['text', 'json']).default('text'),
  /** Put request and response tensors (first values) in request log lines: they can be sensitive. */
  LOG_PAYLOADS: flag,
  OTEL_SDK_DISABLED: flag,
  OTEL_TRACES_EXPORTER: z.string().default(''),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.string().default(''),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.string().default(''),
  OTEL_SERVICE_NAME: z.string().default(''),
};

type TelemetryEnv = z.infer<z.ZodObject<typeof telemetryEnvShape>>;

export interface TelemetrySettings {
  readonly logLevel: LogLevelName;
  readonly logFormat: 'text' | 'json';
  readonly logPayloads: boolean;
  /** Start the OpenTelemetry SDK and trace requests and node calls. */
  readonly tracing: boolean;
  /** OTEL_SERVICE_NAME, when set (else each process names itself infergraph-<component>). */
  readonly serviceName: string | undefined;
}

export function telemetrySettingsOf(e: TelemetryEnv): TelemetrySettings {
  const exporters = e.OTEL_TRACES_EXPORTER.split(',').map((x) => x.trim()).filter((x) => x !== '' && x !== 'none');
  const named = exporters.length > 0 || (e.OTEL_TRACES_EXPORTER === '' && (e.OTEL_EXPORTER_OTLP_ENDPOINT !== '' || e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== ''));
  return Object.freeze({ logLevel: e.LOG_LEVEL, logFormat: e.LOG_FORMAT, logPayloads: e.LOG_PAYLOADS, tracing: named && !e.OTEL_SDK_DISABLED, serviceName: e.OTEL_SERVICE_NAME === '' ? undefined : e.OTEL_SERVICE_NAME });
}
