/**
 * Client quota enforcement, as Kafka's ClientQuotaManager / RequestQuotaManager / ControllerMutationQuotaManager:
 *
 * - Resolution (KIP-55 precedence), per quota key independently: the first of
 *   /users/<u>/clients/<c>, /users/<u>/clients/<default>, /users/<u>, /users/<default>/clients/<c>,
 *   /users/<default>/clients/<default>, /users/<default>, /clients/<c>, /clients/<default> that sets the key.
 *   The level that matched decides who shares the measurement: a user-level quota is shared by all that user's
 *   client ids, a default-level one applies to each user (or client id) separately.
 * - Measurement: a Rate over `quota.window.num` samples of `quota.window.size.seconds` (Kafka's SampledStat: the
 *   measured window is padded to at least num-1 full samples, so a fresh client is not throttled by one burst).
 *   Produce records its request bytes, Fetch its response bytes (followers exempt), request_percentage the time
 *   the broker spent on the request (its synchronous handling and encoding, as a share of one thread).
 * - Throttle time when the rate exceeds the quota Q over window W: (rate - Q) / Q × W, capped at num × size.
 *   The connection answers at once with throttle_time_ms set and then stops reading for that long (KIP-219).
 * - controller_mutation_rate (KIP-599): a token bucket of `controller.quota.window.num` ×
 *   `controller.quota.window.size.seconds` × Q tokens; partitions created or deleted take tokens.
 */
import type { ClientQuotaStore, QuotaEntity } from '../security/client-quotas.js';
import type { BrokerConfig } from './config.js';

export type ThrottledQuota = 'producer_byte_rate' | 'consumer_byte_rate' | 'request_percentage';

/** Kafka's Rate over a SampledStat: samples start when first recorded in, and expire after num × window. */
export class Rate {
  private readonly starts: number[] = [];
  private readonly values: number[] = [];
  private current = 0;
  lastRecordMs = 0;

  constructor(private readonly samples: number, private readonly windowMs: number) {}

  record(value: number, now: number): void {
    this.purge(now);
    this.lastRecordMs = now;
    if (this.starts.length === 0) {
      this.starts.push(now);
      this.values.push(0);
      this.current = 0;
    } else if (now - this.starts[this.current]! >= this.windowMs) {
      this.current = (this.current + 1) % this.samples;
      if (this.current >= this.starts.length) {
        this.starts.push(now);
        this.values.push(0);
      } else {
        this.starts[this.current] = now;
        this.values[this.current] = 0;
      }
    }
    this.values[this.current]! += value;
  }

  /** The rate per second at `now`. */
  measure(now: number): number {
    this.purge(now);
    let total = 0;
    for (const v of this.values) total += v;
    return total / (this.windowSizeMs(now) / 1000);
  }

  /** The window the rate is measured over: since the oldest sample, at least num-1 full samples. */
  windowSizeMs(now: number): number {
    let oldest = now;
    for (const s of this.starts) oldest = Math.min(oldest, s);
    let elapsed = now - oldest;
    const full = Math.floor(elapsed / this.windowMs);
    const minFull = this.samples - 1;
    if (full < minFull) elapsed += (minFull - full) * this.windowMs;
    return Math.max(elapsed, 1);
  }

  private purge(now: number): void {
    const expireAge = this.samples * this.windowMs;
    for (let i = 0; i < this.starts.length; i++) {
      if (now - this.starts[i]! >= expireAge) {
        this.starts[i] = now;
        this.values[i] = 0;
      }
    }
  }
}

/** KIP-599's token bucket: `burst` tokens refilled at `rate` per second; a record may drive it negative. */
export class TokenBucket {
  tokens: number;
  private lastMs: number;

  constructor(public rate: number, public burst: number, now: number) {
    this.tokens = burst;
    this.lastMs = now;
  }

  refill(now: number): void {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.lastMs) / 1000) * this.rate);
    this.lastMs = now;
  }
}

export interface QuotaClient {
  /** The principal's name (User:alice → alice). */
  readonly user: string;
  readonly clientId: string;
}

interface Resolved {
  readonly quota: number;
  /** Who shares the measurement. */
  readonly metricKey: string;
}

const INACTIVE_SENSOR_MS = 3_600_000;

/** The user a principal is measured as: its name without the `User:` type. */
export function quotaUser(principal: string | undefined): string {
  if (!principal) return 'ANONYMOUS';
  const i = principal.indexOf(':');
  return i >= 0 ? principal.slice(i + 1) : principal;
}

export class ClientQuotaManager {
  private readonly sensors = new Map<string, Rate>();
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly cache = new Map<string, Resolved | null>();
  private lastPurgeMs = 0;

  /** quota.window.num / quota.window.size.seconds and their controller.* twins: static configs, read once. */
  private readonly samples: number;
  private readonly windowMs: number;
  private readonly controllerSamples: number;
  private readonly controllerWindowMs: number;

  constructor(readonly store: ClientQuotaStore, config: BrokerConfig) {
    store.onChange(() => this.cache.clear());
    const setting = (key: string, fallback: number): number => Math.max(1, Number(config.get(key) ?? fallback));
    this.samples = setting('quota.window.num', 11);
    this.windowMs = setting('quota.window.size.seconds', 1) * 1000;
    this.controllerSamples = setting('controller.quota.window.num', 11);
    this.controllerWindowMs = setting('controller.quota.window.size.seconds', 1) * 1000;
  }

  /** The quota `key` that applies to the client, with its sharing key; null when none is set. */
  resolve(key: string, client: QuotaClient): Resolved | null {
    const cacheKey = `${key}\u0000${client.user}\u0000${client.clientId}`;
    if (this.cache.has(cacheKey)) return this.cache.get(cacheKey)!;
    const { user, clientId } = client;
    // [entity, user shares?, client shares?] in Kafka's order.
    const levels: Array<[QuotaEntity, boolean, boolean]> = [
      [{ user, 'client-id': clientId }, true, true],
      [{ user, 'client-id': null }, true, true],
      [{ user }, true, false],
      [{ user: null, 'client-id': clientId }, true, true],
      [{ user: null, 'client-id': null }, true, true],
      [{ user: null }, true, false],
      [{ 'client-id': clientId }, false, true],
      [{ 'client-id': null }, false, true],
    ];
    let out: Resolved | null = null;
    for (const [entity, byUser, byClient] of levels) {
      const q = this.store.get(entity)?.[key];
      if (q !== undefined) {
        out = { quota: q, metricKey: `${key}\u0000${byUser ? user : ''}\u0000${byClient ? clientId : ''}` };
        break;
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(cacheKey, out);
    return out;
  }

  /**
   * Records `value` against the client's quota `key` and returns the throttle time in ms (0 when within the
   * quota or when none applies).
   */
  recordAndGetThrottleTimeMs(key: ThrottledQuota, client: QuotaClient, value: number, now: number): number {
    const r = this.resolve(key, client);
    if (!r) return 0;
    const rate = this.sensor(r.metricKey, now);
    rate.record(value, now);
    const observed = rate.measure(now);
    if (observed <= r.quota) return 0;
    const throttle = Math.round(((observed - r.quota) / r.quota) * rate.windowSizeMs(now));
    return Math.min(throttle, this.samples * this.windowMs);
  }

  /**
   * The most a quota allows in one window, (num-1) × size × Q bytes (Kafka's getMaxValueInQuotaWindow): a Fetch
   * asks for no more, so one response never needs a throttle longer than the window can pay back.
   */
  maxValueInQuotaWindow(key: ThrottledQuota, client: QuotaClient): number {
    if (this.store.isEmpty()) return Infinity;
    const r = this.resolve(key, client);
    return r ? Math.max(1, this.samples - 1) * (this.windowMs / 1000) * r.quota : Infinity;
  }

  /** Takes back a recorded value (a throttled Fetch returns no data, so its bytes do not count). */
  unrecord(key: ThrottledQuota, client: QuotaClient, value: number, now: number): void {
    const r = this.resolve(key, client);
    if (r) this.sensors.get(r.metricKey)?.record(-value, now);
  }

  /**
   * controller_mutation_rate for CreateTopics / CreatePartitions / DeleteTopics: null when no quota applies,
   * else the client's bucket. `exceeded()` is true while the bucket is in debt (strict requests are refused then).
   */
  controllerMutation(client: QuotaClient, now: number): { exceeded(): boolean; record(permits: number): void; throttleTimeMs(): number } | null {
    const r = this.resolve('controller_mutation_rate', client);
    if (!r) return null;
    const samples = this.controllerSamples;
    const windowMs = this.controllerWindowMs;
    const burst = r.quota * samples * (windowMs / 1000);
    let bucket = this.buckets.get(r.metricKey);
    if (!bucket) this.buckets.set(r.metricKey, (bucket = new TokenBucket(r.quota, burst, now)));
    bucket.rate = r.quota;
    bucket.burst = burst;
    bucket.refill(now);
    const b = bucket;
    return {
      exceeded: () => b.tokens < 0,
      record: (permits) => { b.tokens -= permits; },
      throttleTimeMs: () => (b.tokens >= 0 ? 0 : Math.min(Math.round((-b.tokens / b.rate) * 1000), samples * windowMs)),
    };
  }

  private sensor(key: string, now: number): Rate {
    if (now - this.lastPurgeMs > 60_000) {
      this.lastPurgeMs = now;
      for (const [k, s] of this.sensors) if (now - s.lastRecordMs > INACTIVE_SENSOR_MS) this.sensors.delete(k);
    }
    let s = this.sensors.get(key);
    if (!s) this.sensors.set(key, (s = new Rate(this.samples, this.windowMs)));
    return s;
  }
}

const PRODUCE = 0;
const FETCH = 1;
/** Not measured against request_percentage: version negotiation, SASL, broker-to-broker (KIP-124's exemptions). */
const REQUEST_QUOTA_EXEMPT = new Set([18 /* ApiVersions */, 17 /* SaslHandshake */, 36 /* SaslAuthenticate */, 27 /* WriteTxnMarkers */]);
const NANOS_TO_PERCENTAGE = 100 / 1e9;
const NOT_THROTTLED: Throttle = { throttleMs: 0, dropFetchData: false, bandwidthMs: 0, requestMs: 0 };

/** A request's throttle: the longest of its quotas' (what the response says and the mute lasts), and each one's. */
export interface Throttle {
  readonly throttleMs: number;
  readonly dropFetchData: boolean;
  /** producer_byte_rate (Produce) or consumer_byte_rate (Fetch). */
  readonly bandwidthMs: number;
  /** request_percentage. */
  readonly requestMs: number;
}

export interface HandledRequest {
  readonly apiKey: number;
  readonly request: unknown;
  readonly client: QuotaClient;
  /** The whole request frame. */
  readonly requestBytes: number;
  /** The encoded response (0 when none is sent). */
  readonly responseBytes: number;
  /** Time the broker spent on it: synchronous handling and encoding. */
  readonly threadNanos: number;
  readonly now: number;
}

/** A follower's Fetch carries its replica id (in replica_state from v15); consumers send -1. */
function isFollowerFetch(request: unknown): boolean {
  const r = request as { replicaId?: number; replicaState?: { replicaId?: number } };
  return (r.replicaId ?? -1) >= 0 || (r.replicaState?.replicaId ?? -1) >= 0;
}

/**
 * The throttle a handled request earns (the larger of its bandwidth and request-time throttles, as Kafka sends),
 * and whether its data must be dropped: a throttled Fetch answers with no records, and its bytes do not count.
 */
export function throttleFor(quotas: ClientQuotaManager, r: HandledRequest): Throttle {
  if (quotas.store.isEmpty()) return NOT_THROTTLED;
  if (r.apiKey === FETCH && isFollowerFetch(r.request)) return NOT_THROTTLED;
  let bandwidth = 0;
  if (r.apiKey === PRODUCE) bandwidth = quotas.recordAndGetThrottleTimeMs('producer_byte_rate', r.client, r.requestBytes, r.now);
  else if (r.apiKey === FETCH) bandwidth = quotas.recordAndGetThrottleTimeMs('consumer_byte_rate', r.client, r.responseBytes, r.now);
  const request = REQUEST_QUOTA_EXEMPT.has(r.apiKey) ? 0 : quotas.recordAndGetThrottleTimeMs('request_percentage', r.client, r.threadNanos * NANOS_TO_PERCENTAGE, r.now);
  const throttleMs = Math.max(bandwidth, request);
  if (throttleMs > 0 && r.apiKey === FETCH) {
    quotas.unrecord('consumer_byte_rate', r.client, r.responseBytes, r.now);
    return { throttleMs, dropFetchData: true, bandwidthMs: bandwidth, requestMs: request };
  }
  return { throttleMs, dropFetchData: false, bandwidthMs: bandwidth, requestMs: request };
}

/** The response body as sent when throttled: throttle_time_ms set (never lowered) and, for Fetch, no data. */
export function throttledResponse(body: unknown, throttleMs: number, dropFetchData: boolean): unknown {
  const b = body as { throttleTimeMs?: number };
  const out: Record<string, unknown> = { ...b, throttleTimeMs: Math.max(throttleMs, b.throttleTimeMs ?? 0) };
  if (dropFetchData) out.responses = [];
  return out;
}

/** KIP-599 as a handler sees it for one request. */
export interface MutationQuota {
  /** Strict requests (versions that know THROTTLING_QUOTA_EXCEEDED) are refused while the bucket is in debt. */
  exceeded(): boolean;
  /** Partitions created or deleted. */
  record(partitions: number): void;
  /** For the response (the connection is then muted for as long). */
  throttleTimeMs(): number;
}

const NO_MUTATION_QUOTA: MutationQuota = { exceeded: () => false, record: () => {}, throttleTimeMs: () => 0 };

/** The client's controller_mutation_rate for CreateTopics (v6+ strict), CreatePartitions (v3+), DeleteTopics (v5+). */
export function controllerMutationQuota(
  quotas: ClientQuotaManager,
  ctx: { readonly clientId: string | null; readonly session?: { readonly principal: string } },
  strict: boolean,
): MutationQuota {
  const q = quotas.controllerMutation({ user: quotaUser(ctx.session?.principal), clientId: ctx.clientId ?? '' }, Date.now());
  if (!q) return NO_MUTATION_QUOTA;
  return { exceeded: () => strict && q.exceeded(), record: (n) => q.record(n), throttleTimeMs: () => q.throttleTimeMs() };
}

export const THROTTLING_QUOTA_EXCEEDED_MESSAGE = 'The throttling quota has been exceeded.';
