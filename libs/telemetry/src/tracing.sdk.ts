import { NodeSDK } from '@opentelemetry/sdk-node';

/** The process's OpenTelemetry SDK; its `onApplicationShutdown` flushes spans when the app closes. */
export class TracingSdk {
  private constructor(private readonly sdk: NodeSDK) {}

  /**
   * Starts the SDK with no auto-instrumentation: infergraph makes its own spans. The exporter, endpoint,
   * sampler and resource come from the standard OTEL_* variables (OTLP over HTTP/protobuf by default).
   */
  static start(serviceName: string): TracingSdk {
    const sdk = new NodeSDK({ serviceName, instrumentations: [] });
    sdk.start();
    return new TracingSdk(sdk);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.sdk.shutdown().catch(() => undefined);
  }
}
