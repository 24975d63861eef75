/**
 * One TCP connection to one broker: frames requests with the generated codecs, pipelines them
 * (many in flight, matched to responses by correlation id, which Kafka returns in order), and
 * negotiates versions once with ApiVersions so every request goes out at the highest version both
 * sides speak. With `sasl` set it then authenticates (client/sasl.ts) and, when the broker gives the session a
 * lifetime (KIP-368), re-authenticates on the same connection before it ends: once 85–95 % of the lifetime has
 * passed, the next request waits until those in flight are answered, SaslHandshake + SaslAuthenticate run
 * again, and the waiting requests then go out in their original order.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { MessageCodec } from '../protocol/primitives/codec.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { RequestHeader } from '../protocol/generated/request-header.js';
import { ResponseHeader } from '../protocol/generated/response-header.js';
import { ApiVersionsRequest } from '../protocol/generated/api-versions-request.js';
import { ApiVersionsResponse } from '../protocol/generated/api-versions-response.js';
import { requestHeaderVersion, responseHeaderVersion } from '../protocol/generated/header-versions.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { ConnectionError, ProtocolError, RequestTimeoutError, UnsupportedApiError } from './errors.js';
import { FrameReader } from './frame-reader.js';
import { saslAuthenticate, type SaslOptions } from './sasl.js';

export type { SaslOptions };

export interface ConnectionOptions {
  clientId?: string;
  /** Give up connecting after this long. Default 10 s. */
  connectTimeoutMs?: number;
  /** A request with no answer after this long fails and closes the connection (Kafka's request.timeout.ms). Default 30 s. */
  requestTimeoutMs?: number;
  /** Largest response frame accepted; a bigger length prefix closes the connection. Default 256 MiB. */
  maxResponseBytes?: number;
  /** Connect with TLS (Kafka's security.protocol=SSL). `true` trusts the system CAs only. */
  ssl?: SslOptions | boolean;
  /** Authenticate with SASL (Kafka's security.protocol=SASL_PLAINTEXT, or SASL_SSL together with `ssl`). */
  sasl?: SaslOptions;
}

/** TLS settings of a client (PEM strings or buffers, as node:tls takes them). */
export interface SslOptions {
  /** Trusted CA certificates (Kafka's ssl.truststore / librdkafka's ssl.ca.location); default: the system CAs. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client certificate chain and key, for listeners with ssl.client.auth=required/requested. */
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Decrypts an encrypted `key` (Kafka's ssl.key.password). */
  passphrase?: string;
  /** Verify the broker's certificate and host name (default true; false is Kafka's ssl.endpoint.identification.algorithm= plus trusting any CA — for tests only). */
  rejectUnauthorized?: boolean;
  /** SNI and the name checked against the certificate; default the host connected to. */
  servername?: string;
}

export interface RequestOptions {
  /** Use exactly this version (else the highest both sides speak). */
  version?: number;
  /** Cap the negotiated version (for callers that need an older layout). */
  maxVersion?: number;
  /** Refuse brokers that cannot speak at least this version. */
  minVersion?: number;
  /** Override the connection's request timeout (e.g. long-polling Fetch adds its max wait). */
  timeoutMs?: number;
}

/** A request waiting for a re-authentication to finish. */
interface GatedRequest {
  run(): void;
  fail(err: Error): void;
}

interface Pending {
  correlationId: number;
  response: MessageCodec<any, any>;
  apiKey: number;
  version: number;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** Highest version of a codec this client speaks: the newest stable one. */
export function clientMaxVersion(codec: MessageCodec<any, any>): number {
  return codec.latestVersionUnstable ? codec.maxVersion - 1 : codec.maxVersion;
}

const DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024;

export class Connection {
  readonly address: string;
  /** API key → the broker's [min, max] version, from ApiVersions. */
  readonly brokerVersions = new Map<number, { min: number; max: number }>();
  private readonly pending: Pending[] = [];
  private nextCorrelationId = 1;
  private closedError: Error | null = null;
  private readonly closeListeners: Array<(err: Error) => void> = [];
  private readonly clientId: string;
  private readonly requestTimeoutMs: number;
  private readonly sasl: SaslOptions | undefined;
  /** When the next request must first re-authenticate (epoch ms; 0: never). */
  private reauthAtMs = 0;
  /** Requests held while a re-authentication runs, sent in order once it is done; null when none runs. */
  private gated: GatedRequest[] | null = null;
  private readonly drainWaiters: Array<() => void> = [];
  /** Completed re-authentications (tests and metrics). */
  reauthentications = 0;

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
    options: ConnectionOptions,
    reader: FrameReader,
    tls: boolean,
  ) {
    this.address = `${host}:${port}`;
    this.clientId = options.clientId ?? 'tributary';
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.sasl = options.sasl;
    socket.setNoDelay(true);
    reader.onFrame = (frame) => {
      this.onFrame(frame);
      return this.closedError === null;
    };
    reader.onBadSize = (size) => this.fail(new ConnectionError(this.address, `${this.address} sent a response frame of ${size} bytes; closing`));
    // Plain TCP reads through reader.onread (set at connect); TLS hands over its decrypted chunks.
    if (tls) socket.on('data', (chunk: Buffer) => reader.push(chunk));
    socket.on('error', (err) => this.fail(new ConnectionError(this.address, `connection to ${this.address} failed: ${err.message}`, { cause: err })));
    socket.on('close', () => this.fail(new ConnectionError(this.address, `connection to ${this.address} closed`)));
  }

  /** Opens a connection and negotiates API versions. */
  static async connect(host: string, port: number, options: ConnectionOptions = {}): Promise<Connection> {
    const address = `${host}:${port}`;
    const timeoutMs = options.connectTimeoutMs ?? 10_000;
    const ssl = options.ssl === true ? {} : options.ssl || undefined;
    const reader = new FrameReader(options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES);
    const socket = await new Promise<Socket>((resolve, reject) => {
      // node:tls wants an SNI name, never an IP address; the certificate check still uses `host`.
      const servername = ssl?.servername ?? (/^[\d.]+$|:/.test(host) ? undefined : host);
      const s = ssl ? tlsConnect({ host, port, ...ssl, servername }) : netConnect({ host, port, onread: reader.onread });
      const timer = setTimeout(() => {
        s.destroy();
        reject(new ConnectionError(address, `cannot reach ${address}: no answer within ${timeoutMs} ms`, { reason: `no answer within ${timeoutMs} ms` }));
      }, timeoutMs);
      s.once(ssl ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        const reason = ssl && err.code !== 'ECONNREFUSED' && err.code !== 'ETIMEDOUT' ? `TLS handshake failed: ${err.message}` : err.code ?? err.message;
        reject(new ConnectionError(address, `cannot reach ${address} (${reason})`, { cause: err, reason }));
      });
    });
    const conn = new Connection(socket, host, port, options, reader, ssl !== undefined);
    try {
      await conn.negotiate();
      if (conn.sasl) await conn.authenticate();
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  get closed(): boolean {
    return this.closedError !== null;
  }

  /** Requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.length;
  }

  onClose(listener: (err: Error) => void): void {
    if (this.closedError) listener(this.closedError);
    else this.closeListeners.push(listener);
  }

  /**
   * The version a request will use: the highest both sides speak within the caller's bounds.
   * Throws UnsupportedApiError when there is none.
   */
  versionFor(codec: MessageCodec<any, any>, options: RequestOptions = {}): number {
    if (options.version !== undefined) return options.version;
    const broker = this.brokerVersions.get(codec.apiKey);
    if (!broker) throw new UnsupportedApiError(`the broker at ${this.address} does not offer ${codec.name}`);
    const max = Math.min(clientMaxVersion(codec), broker.max, options.maxVersion ?? Infinity);
    const min = Math.max(codec.minVersion, broker.min, options.minVersion ?? 0);
    if (max < min) {
      throw new UnsupportedApiError(
        `${codec.name}: the broker at ${this.address} speaks versions ${broker.min}-${broker.max}, this client needs ${min}-${Math.min(clientMaxVersion(codec), options.maxVersion ?? Infinity)}`,
      );
    }
    return max;
  }

  /** Whether the broker offers this API at all (at a version we speak). */
  supports(codec: MessageCodec<any, any>, minVersion = codec.minVersion): boolean {
    const broker = this.brokerVersions.get(codec.apiKey);
    return broker !== undefined && broker.max >= minVersion && Math.min(broker.max, clientMaxVersion(codec)) >= Math.max(broker.min, minVersion);
  }

  /** Sends a request and resolves with its decoded response. */
  send<Res, Init>(request: MessageCodec<any, Init>, response: MessageCodec<Res, any>, body: Init, options: RequestOptions = {}): Promise<Res> {
    return this.whenUngated(() => this.sendNow(request, response, body, options));
  }

  /** Runs `send` now, or after a due re-authentication (requests wait behind it, in order). */
  private whenUngated<T>(send: () => Promise<T>): Promise<T> {
    if (this.closedError) return Promise.reject(this.closedError);
    this.maybeReauthenticate();
    const gate = this.gated;
    if (!gate) return send();
    return new Promise<T>((resolve, reject) => gate.push({ run: () => send().then(resolve, reject), fail: reject }));
  }

  private sendNow<Res, Init>(request: MessageCodec<any, Init>, response: MessageCodec<Res, any>, body: Init, options: RequestOptions = {}): Promise<Res> {
    if (this.closedError) return Promise.reject(this.closedError);
    let version: number;
    try {
      version = this.versionFor(request, options);
    } catch (err) {
      return Promise.reject(err);
    }
    const correlationId = this.nextCorrelationId++;
    if (this.nextCorrelationId > 0x7fffffff) this.nextCorrelationId = 1;
    const frame = this.frame(request, version, correlationId, body);
    return new Promise<Res>((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.requestTimeoutMs;
      const timer = setTimeout(() => {
        const err = new RequestTimeoutError(`${request.name} to ${this.address} got no answer within ${timeoutMs} ms`);
        this.fail(err);
      }, timeoutMs);
      this.pending.push({ correlationId, response, apiKey: request.apiKey, version, resolve: resolve as (v: unknown) => void, reject, timer });
      this.write(frame);
    });
  }

  /** Sends a request the broker does not answer (Produce with acks=0); resolves once written. */
  sendNoResponse<Init>(request: MessageCodec<any, Init>, body: Init, options: RequestOptions = {}): Promise<void> {
    return this.whenUngated(() => this.sendNoResponseNow(request, body, options));
  }

  private sendNoResponseNow<Init>(request: MessageCodec<any, Init>, body: Init, options: RequestOptions = {}): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    const version = this.versionFor(request, options);
    const correlationId = this.nextCorrelationId++;
    const frame = this.frame(request, version, correlationId, body);
    return new Promise((resolve, reject) => {
      this.write(frame, (err) => (err ? reject(new ConnectionError(this.address, `write to ${this.address} failed: ${err.message}`)) : resolve()));
    });
  }

  /** When this connection will next re-authenticate (epoch ms), or 0 when its session has no lifetime. */
  get reauthenticateAtMs(): number {
    return this.reauthAtMs;
  }

  /** Authenticates (or re-authenticates) with SASL; the session lifetime sets the next re-authentication. */
  private async authenticate(): Promise<void> {
    const startedAt = Date.now();
    const { sessionLifetimeMs } = await saslAuthenticate(
      this.address,
      this.sasl!,
      (codec, minVersion) => this.supports(codec, minVersion),
      (request, response, body) => this.sendNow(request, response, body),
    );
    // Kafka's clients pick a random point in 85–95 % of the lifetime, so a fleet does not re-authenticate at once.
    this.reauthAtMs = sessionLifetimeMs > 0 ? startedAt + Math.floor(sessionLifetimeMs * (0.85 + Math.random() * 0.1)) : 0;
  }

  /** Starts a re-authentication when its time has come: requests wait behind it until it is done. */
  private maybeReauthenticate(): void {
    if (this.gated || this.reauthAtMs === 0 || Date.now() < this.reauthAtMs) return;
    const gate: GatedRequest[] = [];
    this.gated = gate;
    void (async () => {
      try {
        // Kafka re-authenticates only between requests: wait for every answer first.
        await this.drained();
        if (this.closedError) return;
        await this.authenticate();
        this.reauthentications++;
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.gated = null;
      for (const g of gate) g.run();
    })();
  }

  private drained(): Promise<void> {
    if (this.pending.length === 0 || this.closedError) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close(): void {
    this.fail(new ConnectionError(this.address, `connection to ${this.address} closed by the client`));
  }

  /** Writes a frame's chunks corked, so record data goes out by reference instead of being copied into one buffer. */
  private write(chunks: Buffer[], callback?: (err?: Error | null) => void): void {
    if (chunks.length === 1) {
      this.socket.write(chunks[0], callback);
      return;
    }
    this.socket.cork();
    for (let i = 0; i < chunks.length; i++) this.socket.write(chunks[i], i === chunks.length - 1 ? callback : undefined);
    this.socket.uncork();
  }

  private frame(request: MessageCodec<any, any>, version: number, correlationId: number, body: unknown): Buffer[] {
    const w = new Writer();
    const size = w.reserveInt32();
    RequestHeader.encode(w, requestHeaderVersion(request.apiKey, version), {
      requestApiKey: request.apiKey,
      requestApiVersion: version,
      correlationId,
      clientId: this.clientId,
    });
    request.encode(w, version, body);
    w.fillInt32(size, w.length - 4);
    return w.toChunks();
  }

  private async negotiate(): Promise<void> {
    // Start at the newest ApiVersions we speak; a broker that does not know it answers in the v0
    // layout with UNSUPPORTED_VERSION and its own range, and we retry at its highest.
    const ours = clientMaxVersion(ApiVersionsRequest);
    this.brokerVersions.set(ApiVersionsRequest.apiKey, { min: 0, max: ours });
    const body = { clientSoftwareName: 'tributary', clientSoftwareVersion: '0.1.0' };
    let res = await this.send(ApiVersionsRequest, ApiVersionsResponse, body);
    if (res.errorCode === ErrorCode.UNSUPPORTED_VERSION) {
      const theirs = res.apiKeys.find((k) => k.apiKey === ApiVersionsRequest.apiKey);
      const version = Math.min(theirs?.maxVersion ?? 0, ours);
      res = await this.send(ApiVersionsRequest, ApiVersionsResponse, body, { version });
    }
    if (res.errorCode !== 0) throw new ProtocolError(res.errorCode, `ApiVersions to ${this.address}`);
    this.brokerVersions.clear();
    for (const k of res.apiKeys) this.brokerVersions.set(k.apiKey, { min: k.minVersion, max: k.maxVersion });
  }

  private onFrame(frame: Buffer): void {
    const correlationId = frame.readInt32BE(0);
    const p = this.pending[0];
    if (!p || p.correlationId !== correlationId) {
      this.fail(new ConnectionError(this.address, `${this.address} answered correlation id ${correlationId}, expected ${p?.correlationId ?? 'none'}; closing`));
      return;
    }
    this.pending.shift();
    clearTimeout(p.timer);
    if (this.pending.length === 0) for (const w of this.drainWaiters.splice(0)) w();
    try {
      const r = new Reader(frame);
      ResponseHeader.decode(r, responseHeaderVersion(p.apiKey, p.version));
      // A broker refusing our ApiVersions version answers in the v0 layout (KIP-511).
      const version = p.apiKey === ApiVersionsRequest.apiKey && frame.length >= 6 && frame.readInt16BE(4) === ErrorCode.UNSUPPORTED_VERSION ? 0 : p.version;
      p.resolve(p.response.decode(r, version));
    } catch (err) {
      p.reject(err as Error);
    }
  }

  private fail(err: Error): void {
    if (this.closedError) return;
    this.closedError = err;
    this.socket.destroy();
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    for (const g of this.gated?.splice(0) ?? []) g.fail(err);
    for (const w of this.drainWaiters.splice(0)) w();
    for (const l of this.closeListeners.splice(0)) l(err);
  }
}
