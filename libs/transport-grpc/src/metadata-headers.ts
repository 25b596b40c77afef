import type { Metadata } from '@grpc/grpc-js';

/** gRPC metadata as lower-cased HTTP-style headers (what the engine's request context takes). */
export function headersOf(metadata: Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata?.getMap() ?? {})) out[key.toLowerCase()] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  return out;
}
