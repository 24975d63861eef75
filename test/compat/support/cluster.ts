/**
 * A Tributary cluster of broker PROCESSES (bin/tributary.js start, one data dir each) on one etcd, for the compat
 * tests that point real clients at a cluster and kill brokers with SIGKILL. `bootstrap()` is the comma-joined list
 * of the live brokers; `kill(id)` is a crash (kill -9), `restart(id)` starts the same node id on the same data dir
 * (on a new port). `stop()` kills every broker and etcd and removes the dirs, whatever state a test left them in.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcd, type EtcdProcess } from '../../helpers/etcd.js';
import { spawnBroker, type BrokerProcess } from './broker-process.js';
import { Admin, type TopicDescription } from '../../../src/client/admin.js';
import { Cluster, CoordinatorType } from '../../../src/client/cluster.js';

/** Settings that make a test cluster converge fast (docs/CLUSTER.md). */
export const FAST_CLUSTER: Readonly<Record<string, string>> = {
  'replica.fetch.wait.max.ms': '100',
  'replica.fetch.backoff.ms': '100',
  'offsets.topic.num.partitions': '6',
  'transaction.state.log.num.partitions': '6',
  'group.initial.rebalance.delay.ms': '0',
  'default.replication.factor': '3',
  'min.insync.replicas': '2',
  'num.partitions': '3',
  'offsets.topic.replication.factor': '3',
  'transaction.state.log.replication.factor': '3',
  'transaction.state.log.min.isr': '2',
};

export interface ProcessCluster {
  readonly etcd: EtcdProcess;
  readonly brokers: Map<number, BrokerProcess>;
  /** The live brokers' host:port list, comma-joined. */
  bootstrap(): string;
  /** SIGKILL broker `id` and wait for its exit. */
  kill(id: number): Promise<void>;
  /** Start broker `id` again on its data dir; resolves once it listens. */
  restart(id: number): Promise<BrokerProcess>;
  /** Waits until metadata lists exactly `ids` as brokers. */
  waitForBrokers(ids: readonly number[], timeoutMs?: number): Promise<void>;
  /** Waits until every partition of `topics` has `replicas` replicas, all of them in the ISR and a live leader. */
  waitForFullIsr(topics: readonly string[], replicas?: number, timeoutMs?: number): Promise<TopicDescription[]>;
  /** Waits until every partition of `topics` (and of the internal topics that exist) has a live leader. */
  waitForLiveLeaders(topics: readonly string[], timeoutMs?: number): Promise<void>;
  /** The node id of the coordinator of a group (or, with 'transaction', a transactional id), asked afresh. */
  coordinator(key: string, type?: 'group' | 'transaction'): Promise<number>;
  /** Every broker's last output, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, stepMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${String(last)}`}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export async function startProcessCluster(n = 3, settings: Record<string, string> = {}): Promise<ProcessCluster> {
  const etcd = await startEtcd();
  const dirs = new Map<number, string>();
  const brokers = new Map<number, BrokerProcess>();
  // Even if the test process dies without its `after`, no broker outlives it (etcd's helper does the same).
  const onExit = (): void => {
    for (const b of brokers.values()) {
      try { process.kill(b.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  };
  process.on('exit', onExit);
  const start = async (id: number): Promise<BrokerProcess> => {
    const b = await spawnBroker(dirs.get(id)!, {
      settings: { ...FAST_CLUSTER, ...settings, 'etcd.connect': etcd.endpoint, 'node.id': String(id) },
      startTimeoutMs: 30_000,
    });
    brokers.set(id, b);
    return b;
  };
  const bootstrap = (): string => [...brokers.values()].map((b) => b.address).join(',');
  const admin = async <T>(fn: (a: Admin) => Promise<T>): Promise<T> => {
    const a = new Admin({ bootstrapServers: bootstrap(), retries: 3 });
    try {
      await a.connect();
      return await fn(a);
    } finally {
      await a.close().catch(() => undefined);
    }
  };
  const cluster: ProcessCluster = {
    etcd,
    brokers,
    bootstrap,
    async kill(id) {
      const b = brokers.get(id);
      brokers.delete(id);
      await b?.kill();
    },
    restart: start,
    async waitForBrokers(ids, timeoutMs = 30_000) {
      const want = [...ids].sort((a, b) => a - b).join(',');
      await until(`brokers ${want} registered`, () => admin(async (a) => {
        const d = await a.describeCluster();
        return d.brokers.map((b) => b.nodeId).sort((x, y) => x - y).join(',') === want ? true : undefined;
      }), timeoutMs, 200);
    },
    async waitForFullIsr(topics, replicas = 3, timeoutMs = 30_000) {
      let seen = '';
      try {
        return await until(`every partition of ${topics.join(', ')} with ${replicas} replicas in the ISR`, () => admin(async (a) => {
          const ds = await a.describeTopics([...topics]);
          seen = JSON.stringify(ds.map((d) => d.partitions.map((p) => [p.partition, p.leader, p.replicas, p.isr])));
          const ok = ds.length === topics.length && ds.every((d) => d.partitions.length > 0 && d.partitions.every((p) =>
            p.replicas.length === replicas && p.isr.length === replicas && p.leader >= 0 && brokers.has(p.leader)));
          return ok ? ds : undefined;
        }), timeoutMs, 250);
      } catch (err) {
        throw new Error(`${(err as Error).message}; last seen ${seen}`);
      }
    },
    async waitForLiveLeaders(topics, timeoutMs = 20_000) {
      await until(`live leaders for ${topics.join(', ')}`, () => admin(async (a) => {
        const ds = await a.describeTopics([...topics]);
        return ds.every((d) => d.partitions.every((p) => brokers.has(p.leader))) ? true : undefined;
      }), timeoutMs, 200);
    },
    async coordinator(key, type = 'group') {
      return until(`the coordinator of ${key}`, async () => {
        const c = new Cluster({ bootstrapServers: bootstrap(), clientId: 'tributary-test', retries: 3 });
        try {
          await c.connect();
          const id = await c.findCoordinator(key, type === 'group' ? CoordinatorType.GROUP : CoordinatorType.TRANSACTION);
          return brokers.has(id) ? id : undefined;
        } finally {
          await c.close().catch(() => undefined);
        }
      }, 20_000, 200);
    },
    output: () => [...brokers.entries()].map(([id, b]) => `--- broker ${id}\n${b.output()}`).join('\n'),
    async stop() {
      for (const b of brokers.values()) await b.kill().catch(() => undefined);
      brokers.clear();
      process.off('exit', onExit);
      await etcd.stop().catch(() => undefined);
      for (const dir of dirs.values()) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
  try {
    for (let id = 1; id <= n; id++) dirs.set(id, await mkdtemp(join(tmpdir(), `tributary-cluster-${id}-`)));
    // In parallel: each process takes about a second to load.
    await Promise.all([...dirs.keys()].map((id) => start(id)));
    await cluster.waitForBrokers([...dirs.keys()]);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
