// Where heavy test tools live outside the clone, shared by every clone of the machine: Go-built tools
// (go-build.mjs) and the Kafka jars (kafka/broker.mjs).
import os from 'node:os';
import path from 'node:path';

/** `$INFERGRAPH_CACHE_DIR`, default `~/.cache/infergraph`: tools fetched or built once and reused by every clone. */
export function cacheRoot() {
  return process.env.INFERGRAPH_CACHE_DIR || path.join(os.homedir(), '.cache', 'infergraph');
}
