/**
 * A TCP proxy on 127.0.0.1 in front of one port, for cutting a broker off (or slowing it) without root network
 * namespaces: give a broker `advertised.listeners=PLAINTEXT://127.0.0.1:<proxy port>` (or give a broker its own
 * proxy in front of etcd) and every connection that should be cuttable goes through the proxy.
 *
 * - `cut()`: resets every open connection and resets each new one as soon as it is accepted (the peer sees
 *   ECONNRESET; the port stays bound so `heal()` needs no re-listen and nobody else can take the port).
 * - `heal()`: new connections are forwarded again (the cut ones stay closed: clients reconnect, as after a
 *   real partition).
 * - `delay(ms)`: every chunk, both directions, is delivered `ms` later than it arrived, in order.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface FaultProxyOptions {
  /** The proxied port's host. Default 127.0.0.1. */
  targetHost?: string;
  targetPort: number;
  /** The proxy's own port; 0 (default) picks a free one. */
  port?: number;
}

/** One direction of a connection: chunks queued with their delivery time, delivered in order. */
class DelayedPipe {
  private readonly queue: Array<{ due: number; chunk: Buffer }> = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly from: Socket, private readonly to: Socket, private readonly delayMs: () => number) {
    from.on('data', (chunk: Buffer) => this.push(chunk));
    from.on('end', () => this.whenEmpty(() => to.end()));
    to.on('drain', () => from.resume());
  }

  private push(chunk: Buffer): void {
    const delay = this.delayMs();
    if (delay <= 0 && this.queue.length === 0) {
      this.write(chunk);
      return;
    }
    this.queue.push({ due: Date.now() + delay, chunk });
    this.arm();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    if (!this.to.write(chunk)) this.from.pause();
  }

  private arm(): void {
    if (this.timer !== null || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      const now = Date.now();
      while (this.queue.length > 0 && this.queue[0]!.due <= now) this.write(this.queue.shift()!.chunk);
      this.arm();
      if (this.queue.length === 0) this.drained?.();
    }, Math.max(0, this.queue[0]!.due - Date.now()));
  }

  private drained: (() => void) | undefined;

  private whenEmpty(fn: () => void): void {
    if (this.queue.length === 0) fn();
    else this.drained = fn;
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}

export class FaultProxy {
  private readonly sockets = new Set<Socket>();
  private readonly pipes = new Set<DelayedPipe>();
  private isCut = false;
  private delayMs = 0;
  private accepted = 0;

  private constructor(private readonly server: Server, readonly port: number, private readonly options: FaultProxyOptions) {}

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const server = createServer({ noDelay: true });
    server.listen(options.port ?? 0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('fault proxy: no TCP address');
    const proxy = new FaultProxy(server, address.port, options);
    server.on('connection', (client) => proxy.onConnection(client));
    return proxy;
  }

  /** host:port of the proxy, for bootstrap lists and advertised listeners. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  /** Connections accepted so far (refused ones included). */
  get acceptedConnections(): number {
    return this.accepted;
  }

  /** Connections currently forwarded. */
  get openConnections(): number {
    return this.pipes.size;
  }

  get cutOff(): boolean {
    return this.isCut;
  }

  /** Resets every connection and every new one until heal(). */
  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.resetAndDestroy();
    this.sockets.clear();
    for (const p of this.pipes) p.stop();
    this.pipes.clear();
  }

  heal(): void {
    this.isCut = false;
  }

  /** Adds `ms` of latency to every chunk from now on, both directions (0 removes it). */
  delay(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`delay must be a non-negative number of ms, got ${ms}`);
    this.delayMs = ms;
  }

  async close(): Promise<void> {
    this.cut();
    this.server.close();
    await once(this.server, 'close');
  }

  private onConnection(client: Socket): void {
    this.accepted++;
    client.on('error', () => {});
    if (this.isCut) {
      client.resetAndDestroy();
      return;
    }
    const upstream = createConnection({ host: this.options.targetHost ?? '127.0.0.1', port: this.options.targetPort, noDelay: true });
    upstream.on('error', () => {});
    // Hold the client's bytes until the upstream accepts; then forward both ways.
    client.pause();
    this.sockets.add(client);
    this.sockets.add(upstream);
    const delay = (): number => this.delayMs;
    const up = new DelayedPipe(client, upstream, delay);
    const down = new DelayedPipe(upstream, client, delay);
    this.pipes.add(up);
    this.pipes.add(down);
    upstream.once('connect', () => client.resume());
    const closeBoth = (): void => {
      up.stop();
      down.stop();
      this.pipes.delete(up);
      this.pipes.delete(down);
      this.sockets.delete(client);
      this.sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.once('close', closeBoth);
    upstream.once('close', closeBoth);
  }
}
