import type { Readable } from 'node:stream';

/** An object's bytes from some offset on, as a server sent them. */
export interface OpenedObject {
  /** The body starts at the offset asked for (a ranged answer); false: it is the whole object from byte 0. */
  readonly resumed: boolean;
  /** The object's full size when the server said it. */
  readonly totalBytes: number | undefined;
  /** What identifies this version of the object (a strong ETag), to resume it later. */
  readonly validator: string | undefined;
  readonly body: Readable;
}

/** One remote object (an https:// URL or an S3 key), read from any offset. */
export interface ObjectSource {
  /** For logs and errors, e.g. the URI. */
  readonly uri: string;
  /**
   * Opens the object from `offset`. With `validator`, the server is asked for the rest only if the object
   * is still that version (If-Range / If-Match); otherwise, or without range support, it sends all of it.
   */
  open(offset: number, validator: string | undefined, signal: AbortSignal): Promise<OpenedObject>;
  /** The current version and size without the body (S3 HEAD), to tell whether a cached copy is current. */
  describe?(signal: AbortSignal): Promise<{ readonly validator: string | undefined; readonly sizeBytes: number | undefined }>;
}

/** A server's answer that says why the object cannot be had (404, 403...). Not retried. */
export class ObjectSourceError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
  ) {
    super(message);
    this.name = 'ObjectSourceError';
  }
}
