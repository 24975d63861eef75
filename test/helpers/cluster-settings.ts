/** What the in-process cluster tests share: broker settings for quick replication, and a bounded wait. */

/** Fast follower polls and ISR decisions, few internal-topic partitions, no initial rebalance delay. */
export const FAST_CLUSTER_SETTINGS: Readonly<Record<string, string>> = {
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'replica.lag.time.max.ms': '3000',
  'offsets.topic.num.partitions': '3',
  'transaction.state.log.num.partitions': '3',
  'group.initial.rebalance.delay.ms': '0',
};

/** Polls `ok` every 50 ms until it holds; throws after `ms`, naming what it waited for. */
export async function until(what: string, ok: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
