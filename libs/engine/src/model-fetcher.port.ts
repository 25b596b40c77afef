/** A remote model held as a verified local file until released. */
export interface FetchedModel {
  /** Absolute path of the verified file (inside the fetcher's cache). */
  readonly path: string;
  /** sha256 (hex) of its bytes. */
  readonly sha256: string;
  /** The graph or node that used it is gone: the file may be evicted from now on. Idempotent. */
  release(): void;
}

/**
 * Where `https://` and `s3://` models come from (libs/model-store implements it). The engine asks for a
 * verified local file before it opens a model, so nothing about the wire reaches the runtime.
 */
export interface ModelFetcher {
  /** Why `uri` cannot be fetched in this process (scheme not allowed, plain http off loopback...), or undefined. */
  check(uri: string): string | undefined;
  /**
   * The model at `uri`, from the cache or downloaded and verified (against `sha256` when given). Rejects
   * with the reason (e.g. "sha256 mismatch: expected …, got …"); `label` names the graph and node in logs.
   */
  fetch(uri: string, options: { readonly sha256?: string | undefined; readonly label: string }): Promise<FetchedModel>;
}
