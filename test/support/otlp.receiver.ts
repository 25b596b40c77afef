import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** A span as an OTLP/JSON export carries it, with its process's service.name. */
export interface ReceivedSpan {
  readonly service: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  readonly kind: number;
  readonly attributes: Readonly<Record<string, string>>;
  /** 2 when the span failed. */
  readonly statusCode: number;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: { key: string; value: OtlpValue }[];
  status?: { code?: number };
}
interface OtlpExport {
  resourceSpans?: { resource?: { attributes?: { key: string; value: OtlpValue }[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

/** OTLP/JSON ids are hex; accept base64 too. */
function hex(id: string | undefined): string | undefined {
  if (id === undefined || id === '') return undefined;
  return /^[0-9a-f]+$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

function text(v: OtlpValue): string {
  return v.stringValue ?? (v.intValue !== undefined ? String(v.intValue) : v.boolValue !== undefined ? String(v.boolValue) : '');
}

/**
 * A real OTLP/HTTP endpoint (JSON encoding) on loopback that keeps every span exported to it: processes
 * under test export with OTEL_EXPORTER_OTLP_PROTOCOL=http/json to `endpoint`.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  private readonly server: Server;

  private constructor(server: Server) {
    this.server = server;
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(createServer());
    receiver.server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        try {
          let body = Buffer.concat(chunks);
          if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
          receiver.collect(JSON.parse(body.toString('utf8')) as OtlpExport);
          res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (err) {
          res.writeHead(400).end(err instanceof Error ? err.message : String(err));
        }
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/traces`;
  }

  /** Environment that makes a process export its spans here, quickly. */
  env(): Record<string, string> {
    return {
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: this.endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
    };
  }

  /** Waits until `accept` holds for the spans of one trace. */
  async trace(traceId: string, accept: (spans: ReceivedSpan[]) => boolean, timeoutMs = 15_000): Promise<ReceivedSpan[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const spans = this.spans.filter((s) => s.traceId === traceId);
      if (accept(spans)) return spans;
      if (performance.now() > deadline) throw new Error(`trace ${traceId} incomplete after ${timeoutMs} ms: ${JSON.stringify(spans.map((s) => `${s.service}:${s.name}`))}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private collect(body: OtlpExport): void {
    for (const rs of body.resourceSpans ?? []) {
      const service = text(rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value ?? {});
      for (const ss of rs.scopeSpans ?? []) {
        for (const s of ss.spans ?? []) {
          this.spans.push({
            service,
            traceId: hex(s.traceId) ?? '',
            spanId: hex(s.spanId) ?? '',
            parentSpanId: hex(s.parentSpanId),
            name: s.name,
            kind: s.kind ?? 0,
            attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, text(a.value)])),
            statusCode: s.status?.code ?? 0,
          });
        }
      }
    }
  }
}
