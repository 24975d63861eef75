/** Support for the standby tests: a counting topology, a restore counter, a steady input, changelog sizes. */
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, Stores, StreamsBuilder, type KafkaStreamsProps, type StateRestoreListener } from '../../../src/streams/index.js';

const S = Serdes.String();
const L = Serdes.Long();
export const KEYS = 40;

export function topology(input: string, output: string, persistent = false): ReturnType<StreamsBuilder['build']> {
  const b = new StreamsBuilder();
  const store = persistent ? Stores.persistentKeyValueStore('counts') : Stores.inMemoryKeyValueStore('counts');
  b.stream(input, Consumed.with(S, S)).groupByKey().count(Materialized.as<string, number>(store)).toStream().to(output, Produced.with(S, L));
  return b.build();
}

/** Restores seen by an instance: records restored and the changelog records the restored partitions held. */
export class Restores implements StateRestoreListener {
  restored = 0;
  /** Changelog partitions restored, and the sum of their end offsets then. */
  started = 0;
  ends = 0;
  /** Restores while this returns false are not counted (set by a test: e.g. those of exactly_once_v2 revivals). */
  counting: () => boolean = () => true;
  onRestoreStart(_tp: unknown, _store: string, _start: number, end: number): void {
    if (!this.counting()) return;
    this.started++;
    this.ends += end;
  }
  onRestoreEnd(_tp: unknown, _store: string, total: number): void {
    if (this.counting()) this.restored += total;
  }
  reset(): void {
    this.restored = 0;
    this.started = 0;
    this.ends = 0;
  }
}

/** The records changelog partitions hold now (end offsets: nothing is compacted away in these short runs). */
export async function changelogSize(address: string, topic: string, tasks: string[]): Promise<number> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  try {
    const r = await admin.listOffsets(tasks.map((t) => ({ topic, partition: Number(t.split('_')[1]), timestamp: 'latest' as const })));
    return r.reduce((n, o) => n + o.offset, 0);
  } finally {
    await admin.close();
  }
}

/** A steady input: batches of 50 records over KEYS keys every 25 ms, until stopped or `max` records. */
export function steadyInput(address: string, topic: string, max: number): { sent: () => number; counts: Map<string, number>; stop: () => Promise<void> } {
  const counts = new Map<string, number>();
  let sent = 0;
  let stopped = false;
  const p = new Producer({ bootstrapServers: address, acks: 'all', idempotent: true });
  const loop = (async () => {
    await p.connect();
    while (!stopped && sent < max) {
      const batch = Array.from({ length: 50 }, (_, i) => ({ topic, key: `k${(sent + i) % KEYS}`, value: `v${sent + i}` }));
      await p.sendBatch(batch);
      for (const r of batch) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
      sent += batch.length;
      await new Promise((r) => setTimeout(r, 25));
    }
  })();
  return {
    sent: () => sent,
    counts,
    stop: async () => {
      stopped = true;
      await loop;
      await p.close();
    },
  };
}

export async function newApp(topo: ReturnType<StreamsBuilder['build']>, props: KafkaStreamsProps, restores?: StateRestoreListener): Promise<KafkaStreams> {
  const app = new KafkaStreams(topo, props);
  if (restores) app.setGlobalStateRestoreListener(restores);
  await app.start();
  return app;
}

