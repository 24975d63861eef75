/**
 * A minimal Kafka client over our own generated codecs, for tests that need exact control of requests
 * (versions, malformed frames, pipelining). Real-client behaviour is tested in test/compat.
 */
import { connect, type Socket } from 'node:net';
import { Reader } from '../../src/protocol/primitives/reader.js';
import { Writer } from '../../src/protocol/primitives/writer.js';
import { RequestHeader } from '../../src/protocol/generated/request-header.js';
import { ResponseHeader } from '../../src/protocol/generated/response-header.js';
import { apiMessages, requestHeaderVersion, responseHeaderVersion } from '../../src/protocol/generated/index.js';

interface Pending {
  apiKey: number;
  version: number;
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

export class RawClient {
  private buf = Buffer.alloc(0);
  private readonly pending = new Map<number, Pending>();
  private nextCorrelation = 1;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.closed = new Promise((resolve) => socket.on('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('connection closed'));
      this.pending.clear();
      resolve();
    }));
    socket.on('error', () => {});
  }

  static async connect(address: string): Promise<RawClient> {
    const i = address.lastIndexOf(':');
    const socket = connect(Number(address.slice(i + 1)), address.slice(0, i));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** The same over TLS (tls.connect options such as `ca`). */
  static async connectTls(address: string, options: import('node:tls').ConnectionOptions): Promise<RawClient> {
    const { connect: tlsConnect } = await import('node:tls');
    const i = address.lastIndexOf(':');
    const socket = tlsConnect({ port: Number(address.slice(i + 1)), host: address.slice(0, i), ...options });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket);
  }

  /** Encodes a request frame with our codecs. */
  static frame(apiKey: number, version: number, body: unknown, correlationId: number, clientId: string | null = 'raw-test'): Buffer {
    const codec = apiMessages.get(apiKey)!.request;
    const w = new Writer();
    const size = w.reserveInt32();
    RequestHeader.encode(w, requestHeaderVersion(apiKey, version), { requestApiKey: apiKey, requestApiVersion: version, correlationId, clientId });
    codec.encode(w, version, body);
    w.fillInt32(size, w.length - 4);
    return w.toBuffer();
  }

  send<T = any>(apiKey: number, version: number, body: unknown): Promise<T> {
    const correlationId = this.nextCorrelation++;
    const p = new Promise<T>((resolve, reject) => this.pending.set(correlationId, { apiKey, version, resolve, reject }));
    this.socket.write(RawClient.frame(apiKey, version, body, correlationId));
    return p;
  }

  /** Sends a request that gets no response (Produce acks=0). */
  sendNoResponse(apiKey: number, version: number, body: unknown): void {
    this.socket.write(RawClient.frame(apiKey, version, body, this.nextCorrelation++));
  }

  /** Order in which correlation ids came back. */
  readonly order: number[] = [];

  private onData(chunk: Buffer): void {
    this.buf = Buffer.concat([this.buf, chunk]);
    while (this.buf.length >= 4) {
      const size = this.buf.readInt32BE(0);
      if (this.buf.length < 4 + size) break;
      const frame = this.buf.subarray(4, 4 + size);
      this.buf = this.buf.subarray(4 + size);
      const correlationId = frame.readInt32BE(0);
      this.order.push(correlationId);
      const p = this.pending.get(correlationId);
      if (!p) continue;
      this.pending.delete(correlationId);
      try {
        const r = new Reader(frame);
        ResponseHeader.decode(r, responseHeaderVersion(p.apiKey, p.version));
        p.resolve(apiMessages.get(p.apiKey)!.response.decode(r, p.version));
      } catch (err) {
        p.reject(err as Error);
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
