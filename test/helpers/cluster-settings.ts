/**
 * What the cluster tests (and the cluster bench) share: broker settings for quick replication and fast failover,
 * a bounded wait, and a short-lived admin client.
 */
import { Admin } from '../../src/client/admin.js';

/** Fast follower polls and ISR decisions, few internal-topic partitions, no initial rebalance delay. */
export const FAST_CLUSTER_SETTINGS: Readonly<Record<string, string>> = {
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'replica.lag.time.max.ms': '3000',
  'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
};

/**
 * Fast failure detection for clusters of broker processes (startDevCluster) under acks=all load: the fault tests
 * and the cluster bench (docs/CLUSTER.md, "Timeouts we chose").
 */
export const FAST_FAILOVER_SETTINGS: Readonly<Record<string, string>> = {
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'replica.lag.time.max.ms': '3000',
  'broker.session.timeout.ms': '2000',
  'offsets.topic.num.partitions': '6',
  'transaction.state.log.num.partitions': '6',
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
};

/** Polls `ok` every `stepMs` until it holds; throws after `ms`, naming what it waited for. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000, stepMs = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * `fn` with a new Admin that gives up quickly (3 tries, 1 s to connect, 3 s a request), closed after: a fresh
 * client each time has no metadata cached from before a fault.
 */
export async function withFreshAdmin<T>(bootstrapServers: string, fn: (a: Admin) => Promise<T>): Promise<T> {
  const admin = new Admin({ bootstrapServers, retries: 3, retryBackoffMs: 100, connectTimeoutMs: 1000, requestTimeoutMs: 3000 });
  try {
    return await fn(admin);
  } finally {
    await admin.close();
  }
}
