import type { NodeSDK } from '@opentelemetry/sdk-node';

/** The process's OpenTelemetry SDK; its `onApplicationShutdown` flushes spans when the app closes. */
export class TracingSdk {
  private constructor(private readonly sdk: NodeSDK) {}

  /**
   * Loads and starts the SDK with no auto-instrumentation: infergraph makes its own spans. The exporter, endpoint,
   * sampler and resource come from the standard OTEL_* variables (OTLP over HTTP/protobuf by default).
   */
  static async start(serviceName: string): Promise<TracingSdk> {
    // Loaded only when tracing is on: the SDK and its exporters are about 6 MB of heap a process that does
    // not trace should not carry (and its garbage collector should not walk).
    const { NodeSDK: Sdk } = await import('@opentelemetry/sdk-node');
    const sdk = new Sdk({ serviceName, instrumentations: [] });
    sdk.start();
    return new TracingSdk(sdk);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sdk.shutdown().catch(() => undefined);
  }
}
