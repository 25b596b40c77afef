import type { Readable } from 'node:stream';
import type * as S3Module from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { ObjectSourceError, type ObjectSource, type OpenedObject } from './object-source.port';

/** The AWS SDK's S3 module, imported when the first s3:// model is fetched (about 100 ms and its memory otherwise). */
export type S3Sdk = typeof S3Module;

/** A client and the module it came from (its command and error classes). */
export interface S3Connection {
  readonly sdk: S3Sdk;
  readonly client: S3Client;
}

/** An S3 object, ranged reads pinned to its ETag (If-Match) when resuming. */
export class S3ObjectSource implements ObjectSource {
  constructor(
    readonly uri: string,
    private readonly s3: S3Connection,
    private readonly bucket: string,
    private readonly key: string,
  ) {}

  async open(offset: number, validator: string | undefined, signal: AbortSignal): Promise<OpenedObject> {
    const ranged = offset > 0;
    try {
      const out = await this.s3.client.send(
        new this.s3.sdk.GetObjectCommand({
          Bucket: this.bucket,
          Key: this.key,
          // A whole object is checked against the checksum the store keeps; a range cannot be (the header is the object's).
          ...(ranged ? { Range: `bytes=${offset}-`, ...(validator === undefined ? {} : { IfMatch: validator }) } : { ChecksumMode: 'ENABLED' }),
        }),
        { abortSignal: signal },
      );
      const body = out.Body as Readable | undefined;
      if (body === undefined) throw new ObjectSourceError('the store sent no body', false);
      const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(out.ContentRange ?? '');
      if (ranged && range !== null && Number(range[1]) === offset) {
        // A store that ignores If-Match still says which version it sent.
        if (validator !== undefined && out.ETag !== undefined && out.ETag !== validator) {
          body.destroy();
          throw new ObjectSourceError(`the object changed since the partial download (ETag ${out.ETag}, was ${validator})`, false);
        }
        return { resumed: true, totalBytes: Number(range[3]), validator: out.ETag, body };
      }
      if (ranged) {
        body.destroy();
        throw new ObjectSourceError(`the store answered a range from ${offset} with Content-Range ${JSON.stringify(out.ContentRange)}`, false);
      }
      return { resumed: false, totalBytes: out.ContentLength, validator: out.ETag, body };
    } catch (err) {
      throw this.explain(err);
    }
  }

  async describe(signal: AbortSignal): Promise<{ validator: string | undefined; sizeBytes: number | undefined }> {
    try {
      const out = await this.s3.client.send(new this.s3.sdk.HeadObjectCommand({ Bucket: this.bucket, Key: this.key }), { abortSignal: signal });
      return { validator: out.ETag, sizeBytes: out.ContentLength };
    } catch (err) {
      throw this.explain(err);
    }
  }

  private explain(err: unknown): Error {
    if (err instanceof ObjectSourceError) return err;
    if (err instanceof this.s3.sdk.S3ServiceException) {
      const status = err.$metadata.httpStatusCode ?? 0;
      // 412: the object changed under a resumed read; the caller starts over (not permanent).
      const permanent = status === 403 || status === 404 || status === 400 || status === 301;
      return new ObjectSourceError(`S3 ${err.name}${status ? ` (HTTP ${status})` : ''}: ${err.message}`, permanent);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
