/**
 * The console's one view of the cluster: an Admin for everything, a Producer made on the first produced message,
 * and the few composite questions several routes ask (partition offsets, sizes from DescribeLogDirs, a group's
 * lag). Only the client library, so the console works against Apache Kafka as well.
 */
import { Admin, type ConfigEntry, type TopicDescription } from '../client/admin.js';
import type { ClientOptions } from '../client/cluster.js';
import { Producer } from '../client/producer.js';

export interface TP {
  topic: string;
  partition: number;
}

export const tpKey = (tp: TP): string => `${tp.topic}\u0000${tp.partition}`;

/** A config entry as the API shows it (sensitive values never leave the server). */
export function configView(c: ConfigEntry): { name: string; value: string | null; source: string; readOnly: boolean; sensitive: boolean } {
  return { name: c.name, value: c.sensitive ? null : c.value, source: c.source, readOnly: c.readOnly, sensitive: c.sensitive };
}

export class ConsoleKafka {
  readonly admin: Admin;
  private producer: Producer | null = null;
  private producerStarting: Promise<Producer> | null = null;

  constructor(readonly clientOptions: ClientOptions) {
    this.admin = new Admin({ clientId: 'tributary-console', ...clientOptions });
  }

  /** The shared producer (created and connected on first use). */
  getProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.producerStarting ??= (async () => {
      // Short block and delivery timeouts: an HTTP request waits for the answer.
      const p = new Producer({ clientId: 'tributary-console', ...this.clientOptions, lingerMs: 0, maxBlockMs: 10_000, deliveryTimeoutMs: 15_000 });
      try {
        await p.connect();
      } catch (err) {
        this.producerStarting = null;
        await p.close().catch(() => {});
        throw err;
      }
      this.producer = p;
      return p;
    })();
    return this.producerStarting;
  }

  async close(): Promise<void> {
    const p = this.producer ?? (this.producerStarting ? await this.producerStarting.catch(() => null) : null);
    await Promise.allSettled([this.admin.close(), p?.close()]);
  }

  /** Every partition of these topics (all topics when omitted). */
  async topics(includeInternal: boolean, names?: string[]): Promise<TopicDescription[]> {
    const list = names ?? await this.admin.listTopics({ includeInternal });
    if (list.length === 0) return [];
    const described = await this.admin.describeTopics(list);
    return described.filter((t) => includeInternal || !t.isInternal).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Log start and end (high watermark) of each partition, keyed by tpKey. */
  async offsets(tps: TP[]): Promise<Map<string, { start: number; end: number }>> {
    const out = new Map<string, { start: number; end: number }>();
    if (tps.length === 0) return out;
    const [earliest, latest] = await Promise.all([
      this.admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'earliest' as const }))),
      this.admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const }))),
    ]);
    earliest.forEach((e, i) => out.set(tpKey(e), { start: e.offset, end: latest[i]!.offset }));
    return out;
  }

  async endOffsets(tps: TP[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    if (tps.length === 0) return out;
    for (const r of await this.admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })))) out.set(tpKey(r), r.offset);
    return out;
  }

  /**
   * Partition sizes on disk from DescribeLogDirs: per broker and partition. Best effort: a cluster that refuses
   * it (no DESCRIBE on the cluster, an old broker) gives an empty map and sizes read 0.
   */
  async logSizes(): Promise<{ byReplica: Map<string, number>; byBroker: Map<number, number> }> {
    const byReplica = new Map<string, number>();
    const byBroker = new Map<number, number>();
    try {
      for (const dir of await this.admin.describeLogDirs()) {
        for (const p of dir.partitions) {
          byReplica.set(`${dir.broker}\u0000${tpKey(p)}`, p.size);
          byBroker.set(dir.broker, (byBroker.get(dir.broker) ?? 0) + p.size);
        }
      }
    } catch {
      // sizes unknown
    }
    return { byReplica, byBroker };
  }

  /** A group's committed offsets with the end of each partition and the lag (end − committed). */
  async groupOffsets(groupId: string): Promise<Array<TP & { committed: number; end: number; lag: number }>> {
    const committed = (await this.admin.listGroupOffsets(groupId)).filter((c) => c.offset >= 0);
    const ends = await this.endOffsets(committed);
    return committed.map((c) => {
      const end = ends.get(tpKey(c)) ?? c.offset;
      return { topic: c.topic, partition: c.partition, committed: c.offset, end, lag: Math.max(0, end - c.offset) };
    });
  }
}

/** Size of a partition: its leader's copy (the logical size; replicas are copies of it). */
export function partitionSize(sizes: Map<string, number>, leader: number, tp: TP): number {
  return sizes.get(`${leader}\u0000${tpKey(tp)}`) ?? 0;
}

/** Runs `fn` over `items` with at most `limit` at a time. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
