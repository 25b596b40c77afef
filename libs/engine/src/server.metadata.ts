/** The version every infergraph server reports (V2 server metadata, REST and gRPC). */
export const SERVER_VERSION = '0.1.0';

/** V2 server metadata without its extensions, which belong to the wire (REST has the binary tensor one). */
export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
}
