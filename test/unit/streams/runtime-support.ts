/** Support for the KafkaStreams runtime tests: an in-process broker, input written and output read with the own client. */
import { Admin } from '../../../src/client/admin.js';
import { Consumer, type ConsumerRecord } from '../../../src/client/consumer.js';
import { Producer } from '../../../src/client/producer.js';
import { KafkaStreams, type KafkaStreamsProps, type KafkaStreamsState, type Topology } from '../../../src/streams/index.js';

export { withBroker } from '../client/consumer-support.js';

/** Props that keep the tests fast: commits every 100 ms, quick heartbeats. */
export function fastProps(address: string, applicationId: string, extra: Partial<KafkaStreamsProps> = {}): KafkaStreamsProps {
  return {
    'application.id': applicationId,
    'bootstrap.servers': address,
    'commit.interval.ms': 100,
    'session.timeout.ms': 2000,
    'heartbeat.interval.ms': 100,
    'replication.factor': 1,
    ...extra,
  };
}

export async function createTopics(address: string, topics: Array<{ name: string; partitions: number }>): Promise<void> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  try {
    await admin.createTopics(topics.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: 1 })));
  } finally {
    await admin.close();
  }
}

export async function produce(address: string, topic: string, records: Array<{ key: string | null; value: string | null; partition?: number; timestamp?: number }>): Promise<void> {
  const p = new Producer({ bootstrapServers: address, acks: 'all' });
  await p.connect();
  try {
    await p.sendBatch(records.map((r) => ({ topic, key: r.key, value: r.value, partition: r.partition, timestamp: r.timestamp })));
  } finally {
    await p.close();
  }
}

/** Reads every partition of topic from the beginning until `done` holds for what was read (or throws at the deadline). */
export async function readUntil(
  address: string, topic: string, done: (records: ConsumerRecord[]) => boolean, timeoutMs = 15_000,
  isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_uncommitted',
): Promise<ConsumerRecord[]> {
  const admin = new Admin({ bootstrapServers: address });
  await admin.connect();
  let partitions: number;
  try {
    partitions = (await admin.describeTopics([topic]))[0].partitions.length;
  } finally {
    await admin.close();
  }
  const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', enableAutoCommit: false, isolationLevel });
  await c.connect();
  const out: ConsumerRecord[] = [];
  try {
    c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })));
    const deadline = Date.now() + timeoutMs;
    while (!done(out)) {
      if (Date.now() > deadline) throw new Error(`timed out reading ${topic}: ${out.length} records`);
      out.push(...(await c.poll(200)));
    }
  } finally {
    await c.close();
  }
  return out;
}

/** The latest value per key (a null value removes the key). */
export function latest<V>(records: ConsumerRecord[], decode: (b: Buffer) => V): Map<string, V> {
  const m = new Map<string, V>();
  for (const r of [...records].sort((a, b) => a.partition - b.partition || a.offset - b.offset)) {
    const k = r.key?.toString() ?? '';
    if (r.value === null) m.delete(k);
    else m.set(k, decode(r.value));
  }
  return m;
}

export const long = (b: Buffer): number => Number(b.readBigInt64BE(b.length - 8));
export const str = (b: Buffer): string => b.toString();

export function sameMap<V>(a: Map<string, V>, b: Map<string, V>): boolean {
  return a.size === b.size && [...b].every(([k, v]) => a.get(k) === v);
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts an application and waits until it is RUNNING; records its states. */
export async function startApp(topology: Topology, props: KafkaStreamsProps): Promise<{ app: KafkaStreams; states: KafkaStreamsState[] }> {
  const app = new KafkaStreams(topology, props);
  const states: KafkaStreamsState[] = [app.state()];
  app.setStateListener((s) => states.push(s));
  await app.start();
  await waitFor(`${props['application.id']} to run`, () => app.state() === 'RUNNING');
  return { app, states };
}
