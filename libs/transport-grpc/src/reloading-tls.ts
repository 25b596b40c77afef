import { experimental, type ServerCredentials } from '@grpc/grpc-js';

/**
 * Server credentials for TLS from PEM files that grpc-js re-reads every `refreshMs`: a renewed certificate
 * is served to new connections without a restart. With `caFile`, clients must present a certificate
 * signed by it (mutual TLS).
 */
export function reloadingServerCredentials(files: { certFile: string; keyFile: string; caFile?: string | undefined }, refreshMs: number): ServerCredentials {
  const identity = new experimental.FileWatcherCertificateProvider({ certificateFile: files.certFile, privateKeyFile: files.keyFile, refreshIntervalMs: refreshMs });
  const ca = files.caFile === undefined ? null : new experimental.FileWatcherCertificateProvider({ caCertificateFile: files.caFile, refreshIntervalMs: refreshMs });
  // grpc-js (1.14) takes the identity provider first and the CA provider second, whatever its typings name them.
  return experimental.createCertificateProviderServerCredentials(identity, ca, ca !== null);
}
