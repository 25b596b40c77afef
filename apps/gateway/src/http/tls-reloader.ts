import { readFileSync, statSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import type { Server } from 'node:https';
import type { Logger } from '@nestjs/common';

export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The PEM pair of the files, checked to form a usable TLS context; throws naming the file at fault. */
export function readTlsFiles(files: TlsFiles): { cert: Buffer; key: Buffer } {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  createSecureContext({ cert, key }); // a key that does not match the certificate throws here
  return { cert, key };
}

/** "serial …, valid until …" of a PEM certificate, for logs. */
export function describeCertificate(cert: Buffer): string {
  const x = new X509Certificate(cert);
  return `subject ${x.subject.replace(/\n/g, ', ')}, serial ${x.serialNumber}, valid until ${x.validTo}`;
}

/**
 * Re-reads the certificate and key every `intervalMs` when either file's modification time changed, and
 * gives new connections the new pair (`setSecureContext`). A pair that does not load (half-written, a key
 * of another certificate) is logged and the current one kept; the next change is tried again.
 */
export function reloadTlsOnChange(server: Server, files: TlsFiles, intervalMs: number, logger: Logger): () => void {
  const stamp = (): string => `${statSync(files.certFile).mtimeMs}:${statSync(files.keyFile).mtimeMs}`;
  let last = stamp();
  const timer = setInterval(() => {
    let now: string;
    try {
      now = stamp();
    } catch (err) {
      logger.warn(`TLS files unreadable (${err instanceof Error ? err.message : String(err)}); serving the current certificate`);
      return;
    }
    if (now === last) return;
    last = now;
    try {
      const pair = readTlsFiles(files);
      server.setSecureContext(pair);
      logger.log(`reloaded the TLS certificate: ${describeCertificate(pair.cert)}`);
    } catch (err) {
      logger.warn(`the changed TLS files do not load (${err instanceof Error ? err.message : String(err)}); serving the current certificate`);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
