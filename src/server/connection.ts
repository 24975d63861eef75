/**
 * One client connection: framing, limits, decoding, dispatch and in-order responses.
 *
 * Contract:
 * - A frame's size prefix is checked against socket.request.max.bytes before anything is allocated for it;
 *   a frame is assembled only from bytes that have actually arrived.
 * - Requests run one at a time per connection, as in Kafka, except that consecutive `concurrent` requests
 *   (Produce, Fetch, … — see Handler.concurrent) overlap. A request that must wait is queued in `waiting` and
 *   started when the requests before it allow. Responses leave in request order: each request takes a slot
 *   in `pending`, and only completed slots at the head are written.
 * - Unknown API keys, unsupported versions (except ApiVersions) and undecodable bodies close the connection
 *   with one log line; handlers never throw across the wire.
 * - Back-pressure: reading pauses while more than queued.max.requests are in flight or the socket's write
 *   buffer needs draining.
 * - SASL listeners (sasl/authenticator.ts): until the connection is authenticated, frames are capped at
 *   sasl.server.max.receive.size, only ApiVersions / SaslHandshake / SaslAuthenticate are admitted (anything
 *   else closes the connection unanswered), and frames are taken one at a time: the next is not read until
 *   the previous one is answered (so the legacy v0 flow's raw tokens and a re-authentication's requests are
 *   read in the state their predecessor left). A failed authentication closes once its answer is written.
 * - Quotas (KIP-219): a request over its client's quota (server/client-quota-manager.ts) is answered at once
 *   with throttle_time_ms set, then the connection is muted — no new request is read — for that long.
 * - Metrics (broker.metrics, only when metrics are on): bytes and connections per listener, and each request's
 *   times (a Timing on its slot): arrival (frame complete) → start (handler called) → the handler's synchronous
 *   part and the encoding (local) → its awaited part (remote) → written to the socket (send).
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Reader, DecodeError } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import { RequestHeader } from '../protocol/generated/request-header.js';
import { ResponseHeader } from '../protocol/generated/response-header.js';
import { requestHeaderVersion, responseHeaderVersion } from '../protocol/generated/header-versions.js';
import type { Logger } from '../logger.js';
import type { BrokerContext } from './broker-context.js';
import type { Handler, RequestContext } from './handler.js';
import type { ConnectionSession } from './listeners.js';
import { apiVersionsUnsupportedResponse } from './handlers/api-versions.js';
import { SASL_AUTHENTICATE_KEY, SASL_HANDSHAKE_KEY, type SaslAuthenticator } from './sasl/authenticator.js';
import { quotaUser, throttleFor, throttledResponse } from './client-quota-manager.js';
import type { ApiStats, BrokerMetricsHooks, ListenerStats } from './metrics-hooks.js';

interface Slot {
  done: boolean;
  chunks: Buffer[] | null;
  /** A SASL-phase request: frames after it wait until it is answered. */
  sasl?: boolean;
  /** Set only while metrics are on. */
  timing?: Timing;
  /** RequestContext.afterResponse callbacks: run once the response is written. */
  afterWrite?: Array<() => void>;
}

/** A request's times for the metrics, in performance.now() milliseconds. */
interface Timing {
  readonly api: ApiStats;
  /** The whole frame had arrived. */
  readonly arrival: number;
  /** The handler was called. */
  start: number;
  /** Synchronous handling plus encoding. */
  localMs: number;
  /** The handler's promise was pending (fsync, replication, long poll, coordinator appends). */
  remoteMs: number;
  throttleMs: number;
  /** The response was encoded and queued. */
  ready: number;
}

export interface ConnectionLimits {
  maxRequestBytes: number;
  maxQueuedRequests: number;
  idleMs: number;
}

const API_VERSIONS_KEY = 18;
const PRODUCE_KEY = 0;

export class Connection {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly pending: Slot[] = [];
  private closed = false;
  private readPaused = false;
  private readonly remote: string;
  private drainWaiters: Array<() => void> = [];
  /** Handlers started and not finished, and how many of those are not concurrent. */
  private running = 0;
  private runningExclusive = 0;
  /** Requests that arrived but may not start yet, in arrival order. */
  private readonly waiting: Array<{ concurrent: boolean; start: () => void }> = [];
  /** A SASL-phase request is being handled: no further frame is taken until it is answered. */
  private saslBusy = false;
  private processing = false;
  /** Responses written since the last uncork wait in the socket until the next tick (see complete). */
  private corked = false;
  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  };
  /** While throttled (a quota was exceeded), frames stay buffered and reading is paused until this time. */
  private mutedUntil = 0;
  private muteTimer: NodeJS.Timeout | undefined;
  private readonly metrics: BrokerMetricsHooks | undefined;
  private readonly net: ListenerStats | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly broker: BrokerContext,
    private readonly handlers: ReadonlyMap<number, Handler>,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
    private readonly signal: AbortSignal,
    private readonly session?: ConnectionSession,
    private readonly sasl?: SaslAuthenticator,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    this.metrics = broker.metrics;
    const net = (this.net = this.metrics?.listener(session?.listenerName ?? ''));
    if (net) {
      net.connections++;
      net.created++;
    }
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.updateFlow());
    socket.on('error', (err) => this.logger.debug({ err, remote: this.remote }, 'connection error'));
    socket.on('close', () => this.onClose());
    if (limits.idleMs > 0 && limits.idleMs < 2147483647) {
      socket.setTimeout(limits.idleMs, () => {
        if (this.pending.length === 0) {
          this.logger.debug({ remote: this.remote }, 'closing idle connection');
          this.close();
        }
      });
    }
  }

  /** Stops reading new requests, lets in-flight ones finish and be written, then ends the socket. */
  async shutdown(): Promise<void> {
    this.socket.pause();
    this.readPaused = true;
    clearTimeout(this.muteTimer); // a muted connection stays muted: its buffered requests are not served
    if (this.pending.length > 0) await new Promise<void>((resolve) => this.drainWaiters.push(resolve));
    if (!this.closed) this.socket.end();
  }

  private onClose(): void {
    if (this.net) {
      this.net.connections--;
      this.net.closed++;
    }
    this.closed = true;
    clearTimeout(this.muteTimer);
    this.chunks = [];
    this.buffered = 0;
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private close(reason?: string, extra?: object): void {
    if (reason) this.logger.warn({ remote: this.remote, ...extra }, reason);
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    if (this.net) this.net.bytesIn += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    this.processFrames();
  }

  private processFrames(): void {
    if (this.processing) return;
    this.processing = true;
    try {
      while (!this.closed && !this.saslBusy && this.mutedUntil === 0 && this.buffered >= 4) {
        const size = this.peekInt32();
        const max = this.sasl ? this.sasl.maxReceiveSize(this.limits.maxRequestBytes) : this.limits.maxRequestBytes;
        if (size < 0 || size > max) {
          const key = this.sasl && max !== this.limits.maxRequestBytes ? 'sasl.server.max.receive.size' : 'socket.request.max.bytes';
          this.close(`closing connection: request size ${size} is outside 0..${max} (${key})`);
          return;
        }
        if (this.buffered < 4 + size) break;
        const frame = this.take(4 + size).subarray(4);
        if (this.sasl?.expectsRawToken) this.onRawSaslToken(frame);
        else this.onFrame(frame);
      }
    } finally {
      this.processing = false;
    }
    this.updateFlow();
  }

  /** A legacy-flow SASL token (after SaslHandshake v0): answered with a raw size-prefixed token, or closed. */
  private onRawSaslToken(token: Buffer): void {
    const sasl = this.sasl!;
    const slot: Slot = { done: false, chunks: null, sasl: true };
    this.pending.push(slot);
    this.saslBusy = true;
    const req = { clientHost: this.socket.remoteAddress ?? '', clientId: null };
    sasl.rawToken(Buffer.from(token), req).then(
      (answer) => {
        if (answer === null) {
          this.close('closing connection: SASL authentication failed', { listener: this.session?.listenerName });
          return;
        }
        const size = Buffer.allocUnsafe(4);
        size.writeInt32BE(answer.length, 0);
        this.complete(slot, [size, answer]);
      },
      (err: unknown) => this.close('closing connection: SASL token exchange failed', { err }),
    );
  }

  private peekInt32(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readInt32BE(0);
    const head = Buffer.concat(this.chunks, Math.min(this.buffered, 8));
    return head.readInt32BE(0);
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const need = n - filled;
        if (c.length <= need) {
          c.copy(out, filled);
          filled += c.length;
          this.chunks.shift();
        } else {
          c.copy(out, filled, 0, need);
          this.chunks[0] = c.subarray(need);
          filled += need;
        }
      }
    }
    this.buffered -= n;
    return out;
  }

  private onFrame(frame: Buffer): void {
    const arrival = this.metrics ? performance.now() : 0;
    if (frame.length < 8) {
      this.close('closing connection: request shorter than a request header', { bytes: frame.length });
      return;
    }
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    const correlationId = frame.readInt32BE(4);
    if (this.sasl) {
      const refused = this.sasl.admit(apiKey, this.broker.now());
      if (refused) {
        this.close(`closing connection: ${refused}`, { apiKey, apiVersion, listener: this.session?.listenerName });
        return;
      }
    }
    const saslPhase = this.sasl !== undefined && (!this.sasl.complete || apiKey === SASL_HANDSHAKE_KEY || apiKey === SASL_AUTHENTICATE_KEY);
    const handler = this.handlers.get(apiKey);
    if (!handler) {
      this.close('closing connection: unknown or unsupported API key', { apiKey, apiVersion });
      return;
    }
    if (apiVersion < handler.minVersion || apiVersion > handler.maxVersion) {
      if (apiKey === API_VERSIONS_KEY) {
        // A client newer than us: answer in the v0 layout with UNSUPPORTED_VERSION and our ranges, so it can
        // retry with a version we speak.
        const slot: Slot = { done: false, chunks: null };
        this.pending.push(slot);
        this.complete(slot, this.encodeResponse(handler, 0, correlationId, apiVersionsUnsupportedResponse(this.handlers)));
        return;
      }
      this.close(`closing connection: unsupported version ${apiVersion} of ${handler.name} (supported ${handler.minVersion}-${handler.maxVersion})`, { apiKey, apiVersion });
      return;
    }

    let request: unknown;
    let clientId: string | null;
    try {
      const reader = new Reader(frame);
      const header = RequestHeader.decode(reader, requestHeaderVersion(apiKey, apiVersion));
      clientId = header.clientId;
      request = handler.request.decode(reader, apiVersion);
    } catch (err) {
      const reason = err instanceof DecodeError ? err.message : String(err);
      this.close(`closing connection: cannot decode ${handler.name} v${apiVersion} request: ${reason}`, { apiKey, apiVersion, correlationId });
      return;
    }

    const slot: Slot = { done: false, chunks: null, sasl: saslPhase };
    if (this.metrics) slot.timing = { api: this.metrics.api(apiKey, apiVersion, handler.name), arrival, start: 0, localMs: 0, remoteMs: 0, throttleMs: 0, ready: 0 };
    this.pending.push(slot);
    if (saslPhase) this.saslBusy = true;
    const ctx: RequestContext = {
      apiKey,
      apiVersion,
      correlationId,
      clientId,
      clientHost: this.socket.remoteAddress ?? '',
      broker: this.broker,
      logger: this.logger,
      signal: this.signal,
      session: this.session,
      sasl: this.sasl,
      afterResponse: (fn) => (slot.afterWrite ??= []).push(fn),
    };
    const start = (): void => this.run(handler, request, ctx, slot, frame.length + 4);
    if (this.canStart(handler.concurrent)) start();
    else this.waiting.push({ concurrent: handler.concurrent, start });
  }

  private canStart(concurrent: boolean): boolean {
    if (this.waiting.length > 0) return false;
    return concurrent ? this.runningExclusive === 0 : this.running === 0;
  }

  private run(handler: Handler, request: unknown, ctx: RequestContext, slot: Slot, requestBytes: number): void {
    this.running++;
    if (!handler.concurrent) this.runningExclusive++;
    const finished = (): void => {
      this.running--;
      if (!handler.concurrent) this.runningExclusive--;
      while (this.waiting.length > 0 && !this.closed) {
        const next = this.waiting[0]!;
        if (next.concurrent ? this.runningExclusive > 0 : this.running > 0) break;
        this.waiting.shift();
        next.start();
      }
    };
    const { apiVersion } = ctx;
    // Handling time is measured only while some client quota exists (request_percentage needs it).
    const measure = !this.broker.quotas.store.isEmpty();
    let result: unknown;
    let nanos = 0;
    const timing = slot.timing;
    try {
      if (timing) timing.start = performance.now();
      const t0 = measure ? process.hrtime.bigint() : 0n;
      result = handler.handle(request, ctx);
      if (measure) nanos = Number(process.hrtime.bigint() - t0);
      if (timing) timing.localMs = performance.now() - timing.start;
    } catch (err) {
      finished();
      this.onHandlerError(handler, apiVersion, err);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (res) => {
          if (timing) timing.remoteMs = performance.now() - timing.start - timing.localMs;
          finished();
          this.respond(handler, request, ctx, slot, res, requestBytes, nanos);
        },
        (err) => {
          finished();
          this.onHandlerError(handler, apiVersion, err);
        },
      );
    } else {
      finished();
      this.respond(handler, request, ctx, slot, result, requestBytes, nanos);
    }
  }

  /** Encodes the response, applies the client's quotas (throttle time in the response, then mute) and queues it. */
  private respond(handler: Handler, request: unknown, ctx: RequestContext, slot: Slot, res: unknown, requestBytes: number, nanos: number): void {
    const measure = !this.broker.quotas.store.isEmpty();
    const timing = slot.timing;
    const encodeStart = timing ? performance.now() : 0;
    const t0 = measure ? process.hrtime.bigint() : 0n;
    let chunks = res === null ? null : this.encodeResponse(handler, ctx.apiVersion, ctx.correlationId, res);
    let throttleMs = 0;
    if (measure) {
      let responseBytes = 0;
      if (chunks) for (const c of chunks) responseBytes += c.length;
      const throttle = throttleFor(this.broker.quotas, {
        apiKey: ctx.apiKey,
        request,
        client: { user: quotaUser(this.session?.principal), clientId: ctx.clientId ?? '' },
        requestBytes,
        responseBytes,
        threadNanos: nanos + Number(process.hrtime.bigint() - t0),
        now: Date.now(),
      });
      throttleMs = throttle.throttleMs;
      if (this.metrics) {
        if (throttle.bandwidthMs > 0) this.metrics.throttled(ctx.apiKey === PRODUCE_KEY ? 'produce' : 'fetch', throttle.bandwidthMs);
        if (throttle.requestMs > 0) this.metrics.throttled('request', throttle.requestMs);
      }
      if (throttleMs > 0 && res !== null) chunks = this.encodeResponse(handler, ctx.apiVersion, ctx.correlationId, throttledResponse(res, throttleMs, throttle.dropFetchData));
    }
    // A handler's own throttle (controller_mutation_rate, KIP-599) mutes the connection as well.
    const muteMs = Math.max(throttleMs, (res as { throttleTimeMs?: number } | null)?.throttleTimeMs ?? 0);
    if (muteMs > 0) this.muteFor(muteMs);
    if (timing) {
      timing.localMs += performance.now() - encodeStart;
      timing.throttleMs = muteMs;
      if (res !== null) timing.api.countErrors(res);
    }
    this.complete(slot, chunks);
  }

  private muteFor(ms: number): void {
    const until = Date.now() + ms;
    if (this.closed || until <= this.mutedUntil) return;
    this.mutedUntil = until;
    clearTimeout(this.muteTimer);
    this.muteTimer = setTimeout(() => {
      this.mutedUntil = 0;
      this.muteTimer = undefined;
      this.processFrames();
    }, ms);
    this.updateFlow();
  }

  private onHandlerError(handler: Handler, apiVersion: number, err: unknown): void {
    // Handlers answer expected failures with error codes; reaching here is a bug. Close rather than guess.
    this.logger.error({ err, api: handler.name, apiVersion, remote: this.remote }, 'handler failed; closing connection');
    this.close();
    for (const w of this.drainWaiters.splice(0)) w();
  }

  private encodeResponse(handler: Handler, apiVersion: number, correlationId: number, body: unknown): Buffer[] {
    const w = new Writer();
    const size = w.reserveInt32();
    ResponseHeader.encode(w, responseHeaderVersion(handler.apiKey, apiVersion), { correlationId });
    handler.response.encode(w, apiVersion, body);
    w.fillInt32(size, w.length - 4);
    return w.toChunks();
  }

  private complete(slot: Slot, chunks: Buffer[] | null): void {
    slot.done = true;
    slot.chunks = chunks;
    if (slot.timing) slot.timing.ready = performance.now();
    if (this.pending[0] !== slot) return;
    let saslAnswered = false;
    if (this.closed) {
      this.pending.length = 0;
    } else {
      // Corked until the current turn's promise callbacks have run: the responses completed together (acks=all
      // requests committed by one fsync or one high-watermark move) leave in one write.
      if (!this.corked) {
        this.corked = true;
        this.socket.cork();
        process.nextTick(this.uncork);
      }
      while (this.pending.length > 0 && this.pending[0]!.done) {
        const s = this.pending.shift()!;
        if (this.metrics) this.writeMeasured(s);
        else if (s.chunks && s.chunks.length > 0) {
          const last = s.chunks.length - 1;
          for (let i = 0; i < last; i++) this.socket.write(s.chunks[i]!);
          if (s.afterWrite) this.socket.write(s.chunks[last]!, afterWritten(s.afterWrite));
          else this.socket.write(s.chunks[last]!);
        }
        if (s.sasl) saslAnswered = true;
      }
      if (saslAnswered || this.sasl?.closeAfterResponse) this.uncork();
    }
    if (this.sasl?.closeAfterResponse && !this.closed) {
      // A failed authentication: the answer (with its error) is written, then the connection ends.
      this.logger.info({ remote: this.remote, listener: this.session?.listenerName }, 'closing connection: SASL authentication failed');
      this.closed = true;
      this.socket.end();
      this.socket.setTimeout(5000, () => this.socket.destroy());
    }
    if (this.pending.length === 0) for (const w of this.drainWaiters.splice(0)) w();
    if (saslAnswered) {
      this.saslBusy = false;
      this.processFrames();
    }
    this.updateFlow();
  }

  /** Writes a response counting its bytes; its request's times are recorded once the socket has taken it all. */
  private writeMeasured(s: Slot): void {
    const timing = s.timing;
    const chunks = s.chunks;
    if (chunks && chunks.length > 0) {
      let bytes = 0;
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) {
        bytes += chunks[i]!.length;
        this.socket.write(chunks[i]!);
      }
      bytes += chunks[last]!.length;
      const after = s.afterWrite ? afterWritten(s.afterWrite) : undefined;
      if (timing || after) {
        this.socket.write(chunks[last]!, (err) => {
          if (timing) recordTiming(timing);
          after?.(err);
        });
      } else {
        this.socket.write(chunks[last]!);
      }
      this.net!.bytesOut += bytes;
    } else if (timing) {
      recordTiming(timing);
    }
  }

  private updateFlow(): void {
    if (this.closed || this.drainWaiters.length > 0) return;
    const shouldPause = this.pending.length >= this.limits.maxQueuedRequests || this.socket.writableNeedDrain || this.mutedUntil > 0;
    if (shouldPause && !this.readPaused) {
      this.socket.pause();
      this.readPaused = true;
    } else if (!shouldPause && this.readPaused) {
      this.socket.resume();
      this.readPaused = false;
    }
  }
}

/** A write callback running `fns` when the write succeeded (after a failed one the socket is gone, and its buffers with it). */
function afterWritten(fns: Array<() => void>): (err?: Error | null) => void {
  return (err) => {
    if (!err) for (const fn of fns) fn();
  };
}

function recordTiming(t: Timing): void {
  const now = performance.now();
  t.api.record(now - t.arrival, t.start - t.arrival, t.localMs, t.remoteMs, now - t.ready, t.throttleMs);
}
