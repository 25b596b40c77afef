import net from 'node:net';

/** A client's connection to the proxy, and the proxy's to the server once made. */
interface Pair {
  readonly down: net.Socket;
  up: net.Socket | undefined;
}

/**
 * A TCP proxy on a loopback port in front of a real server that can be frozen: while frozen it moves no byte
 * in either direction and accepts new connections without passing them on, as a worker process stopped with
 * SIGSTOP (or cut off by the network) does. Connections stay open; nothing fails until a peer's own timers
 * give up. `thaw()` passes on what waited, as a resumed process reads its sockets again.
 */
export class FreezableProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private frozen = false;
  port = 0;

  constructor(private readonly target: { readonly host: string; readonly port: number }) {
    this.server = net.createServer((down) => {
      const pair: Pair = { down, up: undefined };
      this.pairs.add(pair);
      down.on('error', () => undefined);
      down.on('close', () => {
        this.pairs.delete(pair);
        pair.up?.destroy();
      });
      down.pause();
      if (!this.frozen) this.connect(pair);
    });
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  /** Stops every byte, both ways, on open connections and on those accepted from now on. */
  freeze(): void {
    this.frozen = true;
    for (const { down, up } of this.pairs) {
      down.unpipe();
      down.pause();
      up?.unpipe();
      up?.pause();
    }
  }

  /** Passes bytes again, those that waited first, and connects the connections accepted while frozen. */
  thaw(): void {
    this.frozen = false;
    for (const pair of this.pairs) {
      if (pair.up === undefined) this.connect(pair);
      else this.pipe(pair.down, pair.up);
    }
  }

  async close(): Promise<void> {
    for (const { down, up } of this.pairs) {
      down.destroy();
      up?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private connect(pair: Pair): void {
    const up = net.connect(this.target.port, this.target.host);
    pair.up = up;
    up.on('error', () => pair.down.destroy());
    up.on('close', () => pair.down.destroy());
    up.once('connect', () => {
      if (!this.frozen) this.pipe(pair.down, up);
    });
  }

  private pipe(down: net.Socket, up: net.Socket): void {
    down.pipe(up);
    up.pipe(down);
    down.resume();
    up.resume();
  }
}
