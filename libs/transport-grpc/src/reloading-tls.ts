import { readFileSync, statSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { experimental, type ServerCredentials } from '@grpc/grpc-js';

/** A certificate chain and its private key, PEM. */
export interface TlsPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The PEM pair of the files, checked to form a usable TLS context; throws naming the problem. */
export function readTlsPair(files: { readonly certFile: string; readonly keyFile: string }): TlsPair {
  const cert = readFileSync(files.certFile);
  const key = readFileSync(files.keyFile);
  createSecureContext({ cert, key }); // a key that does not match the certificate throws here
  return { cert, key };
}

function readCaFile(file: string): Buffer {
  const ca = readFileSync(file);
  createSecureContext({ ca });
  return ca;
}

/** What a `TlsFileWatcher` tells each subscriber. */
export interface TlsFileSubscriber<T> {
  /** The files changed and what they now hold loads. */
  changed(value: T): void;
  /**
   * The files changed but do not load (a renewal caught between its files, a key of another certificate), or
   * cannot be read (told once until they can be again): the current value stays.
   */
  rejected(reason: string): void;
}

/**
 * TLS files watched for renewal: every `intervalMs` their modification times are compared, and after a change
 * they are read once and checked (`load` throws for what does not load); a value that loads goes to every
 * subscriber, one that does not is reported to them and the current one kept until the next change. One
 * watcher serves every port that presents the same files (the gateway's REST and gRPC ports).
 */
export class TlsFileWatcher<T> {
  private value: T;
  private stamp: string;
  private readonly subscribers = new Set<TlsFileSubscriber<T>>();
  private timer: NodeJS.Timeout | undefined;
  /** Whether subscribers were told the files cannot be read: once while they stay so, not every interval. */
  private unreadableReported = false;

  /** Reads the files at once: what does not load there throws, so a server that cannot present its certificate does not start. */
  constructor(
    private readonly paths: readonly string[],
    private readonly load: () => T,
    private readonly intervalMs: number,
  ) {
    this.stamp = this.stampNow();
    this.value = load();
  }

  get current(): T {
    return this.value;
  }

  /** Subscribes (the files are watched while anyone is subscribed); returns how to unsubscribe. */
  subscribe(subscriber: TlsFileSubscriber<T>): () => void {
    this.subscribers.add(subscriber);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.check(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.subscribers.delete(subscriber);
      if (this.subscribers.size > 0 || this.timer === undefined) return;
      clearInterval(this.timer);
      this.timer = undefined;
    };
  }

  private stampNow(): string {
    return this.paths.map((p) => statSync(p).mtimeMs).join(':');
  }

  private check(): void {
    let stamp: string;
    try {
      stamp = this.stampNow();
    } catch (err) {
      if (!this.unreadableReported) this.reject(`files unreadable: ${err instanceof Error ? err.message : String(err)}`);
      this.unreadableReported = true;
      return;
    }
    this.unreadableReported = false;
    if (stamp === this.stamp) return;
    this.stamp = stamp;
    let value: T;
    try {
      value = this.load();
    } catch (err) {
      this.reject(err instanceof Error ? err.message : String(err));
      return;
    }
    this.value = value;
    for (const s of this.subscribers) s.changed(value);
  }

  private reject(reason: string): void {
    for (const s of this.subscribers) s.rejected(reason);
  }
}

/** The warning a port logs when its changed TLS files are rejected; `port` names it ("the gRPC port"). One wording for every port. */
export function describeRejectedTls(port: string, reason: string): string {
  return `the changed TLS files of ${port} do not load (${reason}); serving the current certificate`;
}

/** Watchers of a port's TLS files: its certificate and key, and with `caFile` the CA its clients' certificates must chain to. */
export interface WatchedTlsFiles {
  readonly identity: TlsFileWatcher<TlsPair>;
  readonly ca: TlsFileWatcher<Buffer> | undefined;
}

export function watchTlsFiles(files: { readonly certFile: string; readonly keyFile: string; readonly caFile?: string | undefined }, intervalMs: number): WatchedTlsFiles {
  const caFile = files.caFile;
  return {
    identity: new TlsFileWatcher([files.certFile, files.keyFile], () => readTlsPair(files), intervalMs),
    ca: caFile === undefined ? undefined : new TlsFileWatcher([caFile], () => readCaFile(caFile), intervalMs),
  };
}

/**
 * A grpc-js certificate provider fed by a watcher, so grpc-js only ever gets files that load. Its own
 * FileWatcherCertificateProvider reads the certificate and the key concurrently and hands on whatever it read,
 * unchecked: a renewal read half old, half new (or a file briefly missing) made every handshake on the port
 * fail until its next read. One provider serves one kind of update, identity or CA, and grpc-js asks an
 * identity provider only for identity listeners (and a CA provider only for CA ones), so both kinds of
 * listener share one set.
 */
class WatchedCertificateProvider<T, U> implements experimental.CertificateProvider {
  private readonly listeners = new Set<(update: U | null) => void>();
  private latest: U;

  constructor(watcher: TlsFileWatcher<T>, toUpdate: (value: T) => U, onRejected: (reason: string) => void) {
    this.latest = toUpdate(watcher.current);
    watcher.subscribe({
      changed: (value) => {
        this.latest = toUpdate(value);
        for (const l of this.listeners) l(this.latest);
      },
      rejected: onRejected,
    });
  }

  private add(listener: unknown): void {
    const l = listener as (update: U | null) => void;
    this.listeners.add(l);
    process.nextTick(l, this.latest);
  }

  private remove(listener: unknown): void {
    this.listeners.delete(listener as (update: U | null) => void);
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.add(listener);
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.remove(listener);
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.add(listener);
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.remove(listener);
  }
}

/**
 * Server credentials for TLS from watched PEM files: a renewed certificate is served to new connections
 * without a restart, and files that do not load keep the current certificate (`onRejected` says why). With a
 * CA watcher, clients must present a certificate signed by it (mutual TLS).
 */
export function reloadingServerCredentials(files: WatchedTlsFiles, onRejected: (reason: string) => void = () => undefined): ServerCredentials {
  const identity = new WatchedCertificateProvider(files.identity, (p) => ({ certificate: p.cert, privateKey: p.key }), onRejected);
  const ca = files.ca === undefined ? null : new WatchedCertificateProvider(files.ca, (caCertificate) => ({ caCertificate }), onRejected);
  // grpc-js (1.14) takes the identity provider first and the CA provider second, whatever its typings name them.
  return experimental.createCertificateProviderServerCredentials(identity, ca, ca !== null);
}
