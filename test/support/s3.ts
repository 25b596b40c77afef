import { pathToFileURL } from 'node:url';
import { repoPath } from './repo';

/** A gofakes3 server on a loopback port (scripts/s3/server.mjs), exiting with this process. */
export interface S3TestServer {
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

interface ServerModule {
  ensureS3Server(): Promise<string>;
  startS3Server(options: { buckets: readonly string[]; bin?: string }): Promise<S3TestServer>;
}

/** Starts one, built by the project's script when missing; INFERGRAPH_S3_BIN (scripts/run-tests.mjs) names a built binary. */
export async function startS3TestServer(buckets: readonly string[]): Promise<S3TestServer> {
  const script = (await import(pathToFileURL(repoPath('scripts', 's3', 'server.mjs')).href)) as ServerModule;
  const bin = process.env['INFERGRAPH_S3_BIN'];
  return script.startS3Server({ buckets, ...(bin ? { bin } : {}) });
}
