import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';

type Listener<T> = (update: T | null) => void;
type IdentityUpdate = { certificate: Buffer; privateKey: Buffer };
type CaUpdate = { caCertificate: Buffer };

/**
 * A grpc-js certificate provider over PEM files that only ever hands out a pair that loads. grpc-js's own
 * FileWatcherCertificateProvider reads the certificate and the key concurrently and passes on whatever it
 * read: a renewal that replaces the two files one after the other could be read half old, half new (a key
 * that does not match its certificate), and a file briefly missing gave no identity at all; either way TLS
 * handshakes on the port failed until the next read. Here each read is checked with `createSecureContext`,
 * and one that does not load keeps the current pair (`onRejected` says why); the next change is read again.
 */
class CheckedFileProvider implements experimental.CertificateProvider {
  private identity: IdentityUpdate | undefined;
  private ca: CaUpdate | undefined;
  private readonly identityListeners = new Set<Listener<IdentityUpdate>>();
  private readonly caListeners = new Set<Listener<CaUpdate>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly files: { certFile: string; keyFile: string } | { caFile: string },
    private readonly refreshMs: number,
    private readonly onRejected: (reason: string) => void,
  ) {
    // The first read must load: a server that cannot present its certificate does not start.
    const first = this.read();
    if (typeof first === 'string') throw new Error(first);
    this.take(first);
  }

  /** The files' contents when they form a usable TLS context, else why not. */
  private read(): IdentityUpdate | CaUpdate | string {
    try {
      if ('caFile' in this.files) {
        const caCertificate = readFileSync(this.files.caFile);
        createSecureContext({ ca: caCertificate });
        return { caCertificate };
      }
      const certificate = readFileSync(this.files.certFile);
      const privateKey = readFileSync(this.files.keyFile);
      createSecureContext({ cert: certificate, key: privateKey }); // a key of another certificate throws here
      return { certificate, privateKey };
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  }

  /** Keeps `update` and tells the listeners, when it differs from what they have. */
  private take(update: IdentityUpdate | CaUpdate): void {
    if ('caCertificate' in update) {
      if (this.ca?.caCertificate.equals(update.caCertificate) === true) return;
      this.ca = update;
      for (const l of this.caListeners) l(update);
      return;
    }
    if (this.identity !== undefined && this.identity.certificate.equals(update.certificate) && this.identity.privateKey.equals(update.privateKey)) return;
    this.identity = update;
    for (const l of this.identityListeners) l(update);
  }

  private refresh = (): void => {
    const update = this.read();
    if (typeof update === 'string') {
      this.onRejected(update);
      return;
    }
    this.take(update);
  };

  private watch(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(this.refresh, this.refreshMs);
    this.timer.unref();
  }

  private unwatch(): void {
    if (this.identityListeners.size > 0 || this.caListeners.size > 0 || this.timer === undefined) return;
    clearInterval(this.timer);
    this.timer = undefined;
  }

  addCaCertificateListener(listener: Listener<CaUpdate>): void {
    this.caListeners.add(listener);
    this.watch();
    if (this.ca !== undefined) process.nextTick(listener, this.ca);
  }

  removeCaCertificateListener(listener: Listener<CaUpdate>): void {
    this.caListeners.delete(listener);
    this.unwatch();
  }

  addIdentityCertificateListener(listener: Listener<IdentityUpdate>): void {
    this.identityListeners.add(listener);
    this.watch();
    if (this.identity !== undefined) process.nextTick(listener, this.identity);
  }

  removeIdentityCertificateListener(listener: Listener<IdentityUpdate>): void {
    this.identityListeners.delete(listener);
    this.unwatch();
  }
}

/**
 * Server credentials for TLS from PEM files re-read every `refreshMs`: a renewed certificate is served to new
 * connections without a restart, and a renewal read half-done (or a pair that does not load) keeps the
 * current certificate. With `caFile`, clients must present a certificate signed by it (mutual TLS).
 */
export function reloadingServerCredentials(
  files: { certFile: string; keyFile: string; caFile?: string | undefined },
  refreshMs: number,
  onRejected: (reason: string) => void = () => undefined,
): ServerCredentials {
  const identity = new CheckedFileProvider({ certFile: files.certFile, keyFile: files.keyFile }, refreshMs, (r) => onRejected(`${files.certFile}, ${files.keyFile}: ${r}`));
  const ca = files.caFile === undefined ? null : new CheckedFileProvider({ caFile: files.caFile }, refreshMs, (r) => onRejected(`${files.caFile}: ${r}`));
  // grpc-js (1.14) takes the identity provider first and the CA provider second, whatever its typings name them.
  return experimental.createCertificateProviderServerCredentials(identity, ca, ca !== null);
}
