/**
 * Replication throttling (Kafka's KIP-73): a reassignment's catch-up traffic limited to a rate so it does not
 * starve clients. The broker configs `follower.replication.throttled.rate` / `leader.replication.throttled.rate`
 * (bytes per second, dynamic, default unlimited) apply to the replicas a topic lists in
 * `follower.replication.throttled.replicas` / `leader.replication.throttled.replicas`: `partition:brokerId`
 * pairs separated by commas, or `*` for all. The follower side: a follower's fetcher leaves throttled
 * partitions that are not in the ISR out of its fetches while their byte budget is spent (as Kafka's follower
 * does while its quota is exceeded), and asks for no more than the budget left. The leader side: the fetch
 * handler answers a throttled follower's partition with no more than the leader's budget left, and with nothing
 * while it is spent (ClusterMode.leaderThrottle).
 */

/** Kafka's default rate: Long.MAX_VALUE (no throttle). */
export const UNLIMITED_RATE = Number.MAX_SAFE_INTEGER;

/**
 * Whether `broker`'s replica of `partition` is named by a throttled-replicas value (`*`, or `p:b` pairs). A
 * malformed entry names nothing (topic config validation refuses it before it gets here).
 */
export function isThrottledReplica(value: string | undefined, partition: number, broker: number): boolean {
  if (value === undefined) return false;
  const v = value.trim();
  if (v === '') return false;
  if (v === '*') return true;
  for (const entry of v.split(',')) {
    const m = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(entry);
    if (m && Number(m[1]) === partition && Number(m[2]) === broker) return true;
  }
  return false;
}

/** A rate as a byte count per second from a config value; non-numbers and values ≥ 2^53 are unlimited. */
export function parseRate(value: string | undefined): number {
  if (value === undefined) return UNLIMITED_RATE;
  const n = Number(value.trim());
  return Number.isFinite(n) && n >= 0 && n < UNLIMITED_RATE ? n : UNLIMITED_RATE;
}

/**
 * A token bucket: `rate` bytes accrue per second up to one second's worth; a fetch may start while the balance
 * is positive and asks for at most the balance; what arrived is taken (the balance may go below zero, since a
 * fetch returns at least one whole batch), and the next fetch waits until it is positive again. It starts empty,
 * so N bytes take at least (N − one batch) / rate.
 */
export class TokenBucket {
  private tokens = 0;
  private last: number;
  private lastRate: number;

  constructor(rate: number, private readonly now: () => number = Date.now) {
    this.last = now();
    this.lastRate = rate;
  }

  private refill(rate: number): void {
    const t = this.now();
    if (rate !== this.lastRate) {
      // A new rate accrues from now: time spent unthrottled (or at another rate) earns no burst.
      this.lastRate = rate;
      this.tokens = Math.min(this.tokens, rate);
      this.last = t;
    }
    this.tokens = Math.min(rate, this.tokens + ((t - this.last) * rate) / 1000);
    this.last = t;
  }

  /** The bytes a fetch may ask for now (0: wait). */
  available(rate: number): number {
    if (rate >= UNLIMITED_RATE) return Number.MAX_SAFE_INTEGER;
    this.refill(rate);
    return Math.max(0, Math.floor(this.tokens));
  }

  /** Milliseconds until some budget is available again. */
  waitMs(rate: number): number {
    if (rate >= UNLIMITED_RATE) return 0;
    this.refill(rate);
    if (this.tokens >= 1) return 0;
    return rate <= 0 ? 1000 : Math.ceil(((1 - this.tokens) * 1000) / rate);
  }

  take(bytes: number, rate: number): void {
    if (rate >= UNLIMITED_RATE) return;
    this.refill(rate);
    this.tokens -= bytes;
  }
}
