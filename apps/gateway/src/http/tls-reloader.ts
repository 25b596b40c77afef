import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:https';
import type { Logger } from '@nestjs/common';
import { describeRejectedTls, type TlsFileWatcher, type TlsPair } from '@infergraph/transport-grpc';

/** "serial …, valid until …" of a PEM certificate, for logs. */
export function describeCertificate(cert: Buffer): string {
  const x = new X509Certificate(cert);
  return `subject ${x.subject.replace(/\n/g, ', ')}, serial ${x.serialNumber}, valid until ${x.validTo}`;
}

/**
 * Gives new connections of the REST server each renewed pair the watcher hands on (`setSecureContext`); a
 * pair that does not load (half-written, a key of another certificate) is logged and the current one kept.
 * The gRPC port takes the same watcher (`reloadingServerCredentials`), so the files are read once per change.
 */
export function reloadTlsOnChange(server: Server, watcher: TlsFileWatcher<TlsPair>, logger: Logger): () => void {
  return watcher.subscribe({
    changed: (pair) => {
      server.setSecureContext(pair);
      logger.log(`reloaded the TLS certificate: ${describeCertificate(pair.cert)}`);
    },
    rejected: (why) => logger.warn(describeRejectedTls('the REST port', why)),
  });
}
