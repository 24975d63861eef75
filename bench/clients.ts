/**
 * Client throughput: Tributary's own Producer/Consumer against kafkajs 2.2.4 and
 * @platformatic/kafka 1.22 (the newest whose dependencies support Node 20), all in this process, against one Tributary broker in a child process.
 *
 * For each client and record size (100 B and 1 KiB): produce N records
 *   (a) batched — 1,000 records per call (ours: sendBatch; kafkajs: send({messages}); platformatic:
 *       send({messages})), up to BATCHES_IN_FLIGHT calls outstanding;
 *   (b) single — one record per send(), up to K = 100 outstanding promises;
 * then consume the batched topic back from the beginning (median of 3 reads), stopping at the count (ours: manual
 * assignment; kafkajs and platformatic: a fresh group reading from the earliest offset — neither
 * has a group-less consumer API of the same kind — with the broker's initial rebalance delay at 0).
 *
 * Same settings for all: acks=all, no compression, idempotence OFF for all three (their defaults
 * differ — ours is on, kafkajs and platformatic off — and an idempotent producer does more work, so
 * defaults would not compare like with like). Neither kafkajs nor platformatic lingers: each send()
 * goes out at once. Ours therefore runs (b) with lingerMs 0 (with Kafka's default linger.ms=5 and only
 * 100 records of 100 B outstanding, every round would wait out the linger); sends made in the same
 * event-loop turn, or while the in-flight limit is reached, still share a batch.
 * Each topic has 4 partitions and is created before the run; records have null keys.
 *
 * What each client put on the wire (counted through a proxy, 50,000 x 1 KiB): all three Produce with acks=-1 and
 * no compression. Batched: kafkajs and platformatic spread each call round-robin — one request per call, 4
 * partitions x 250 records (~1 MiB); ours sticks null keys to one partition per batch, as Kafka's default
 * partitioner — ~1.2 requests per call, 1.2 partitions per request, batches of up to ~1 MiB; at most 4 calls
 * (ours: 5 requests) outstanding. Consume: one Fetch in flight per client; ours and kafkajs ask 1 MiB per
 * partition (the Java and kafkajs defaults; ~3.4-3.9 MiB responses), platformatic 10 MiB per partition (its
 * default; ~10 MiB responses).
 */
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer as KafkajsConsumer } from 'kafkajs';
import { Consumer as PlatformaticConsumer, ProduceAcks, Producer as PlatformaticProducer } from '@platformatic/kafka';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';
import { spawnBroker } from '../test/compat/support/broker-process.js';
import { medianBy, withTimeout } from './support.js';

export const CLIENTS = ['ours', 'kafkajs', 'platformatic'] as const;
export type ClientName = (typeof CLIENTS)[number];
export const OPERATIONS = ['produceBatched', 'produceSingle', 'consume'] as const;
export type Operation = (typeof OPERATIONS)[number];

const PARTITIONS = 4;
const BATCH = 1000;
const BATCHES_IN_FLIGHT = 4;
const SINGLE_OUTSTANDING = 100;
const CONSUME_RUNS = 3;
/** Every step gives up after this long: the benchmark must never hang. */
const STEP_TIMEOUT_MS = 5 * 60_000;

export interface ClientThroughput { records: number; seconds: number; msgsPerSec: number; mbPerSec: number }
export interface ClientBenchResult {
  date: string;
  node: string;
  versions: Record<ClientName, string>;
  settings: string;
  sizes: Array<{
    recordBytes: number;
    records: number;
    results: Record<ClientName, Record<Operation, ClientThroughput>>;
    /** Ours ÷ the other client, from each client's median round. */
    ratios: { oursOverKafkajs: Record<Operation, number>; oursOverPlatformatic: Record<Operation, number> };
    /** The lowest ratio any single round gave: "consistently" means this one meets the goal too. */
    minRatios: { oursOverKafkajs: Record<Operation, number>; oursOverPlatformatic: Record<Operation, number> };
    /** Every round's msgs/s, per client and operation. */
    rounds: Array<Record<ClientName, Record<Operation, number>>>;
  }>;
  rounds: number;
}

export interface Driver {
  produceBatched(topic: string, payloads: Buffer[], count: number): Promise<void>;
  produceSingle(topic: string, payloads: Buffer[], count: number): Promise<void>;
  consume(topic: string, count: number): Promise<void>;
  close(): Promise<void>;
}

async function median(runs: number, fn: () => Promise<ClientThroughput>): Promise<ClientThroughput> {
  const all: ClientThroughput[] = [];
  for (let i = 0; i < runs; i++) all.push(await fn());
  return medianBy(all, (t) => t.msgsPerSec);
}

function throughput(ms: number, records: number, size: number): ClientThroughput {
  const seconds = ms / 1000;
  return { records, seconds, msgsPerSec: records / seconds, mbPerSec: (records * size) / 1e6 / seconds };
}

/** Resolves once `start`'s callbacks have added up to `count` records; rejects on failure or after STEP_TIMEOUT_MS. */
function untilCount(what: string, count: number, start: (add: (n: number) => void, fail: (err: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`${what}: ${seen} of ${count} records after ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    start(
      (n) => {
        seen += n;
        if (seen >= count) {
          clearTimeout(timer);
          resolve();
        }
      },
      (err) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** Runs `send(i)` for i in [0, count) with at most `limit` unsettled at once. */
async function pipelined(count: number, limit: number, send: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      const i = next++;
      try {
        await send(i);
      } catch (err) {
        failure ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, worker));
  if (failure !== undefined) throw failure;
}

/** A few distinct payloads of `size` bytes, cycled through. */
export function makePayloads(size: number): Buffer[] {
  return Array.from({ length: 16 }, (_, j) => {
    const b = Buffer.alloc(size);
    for (let i = 0; i < size; i++) b[i] = 97 + ((i * 7 + j) % 26);
    return b;
  });
}

function oursDriver(bootstrap: string): Driver {
  const producer = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-ours', acks: 'all', compression: 'none', idempotent: false });
  const single = new Producer({ bootstrapServers: bootstrap, clientId: 'bench-ours', acks: 'all', compression: 'none', idempotent: false, lingerMs: 0 });
  let connected: Promise<void> | undefined;
  const ready = (): Promise<void> => (connected ??= Promise.all([producer.connect(), single.connect()]).then(() => undefined));
  return {
    async produceBatched(topic, payloads, count) {
      await ready();
      await pipelined(Math.ceil(count / BATCH), BATCHES_IN_FLIGHT, (b) => {
        const n = Math.min(BATCH, count - b * BATCH);
        return producer.sendBatch(Array.from({ length: n }, (_, i) => ({ topic, value: payloads[(b * BATCH + i) % payloads.length] })));
      });
    },
    async produceSingle(topic, payloads, count) {
      await ready();
      await pipelined(count, SINGLE_OUTSTANDING, (i) => single.send({ topic, value: payloads[i % payloads.length] }));
    },
    async consume(topic, count) {
      const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-ours', enableAutoCommit: false });
      try {
        await consumer.connect();
        const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
        consumer.assign(tps);
        await consumer.seekToBeginning(tps);
        const deadline = performance.now() + STEP_TIMEOUT_MS;
        let seen = 0;
        while (seen < count) {
          if (performance.now() > deadline) throw new Error(`ours consume: ${seen} of ${count} records after ${STEP_TIMEOUT_MS} ms`);
          seen += (await consumer.poll(1000)).length;
        }
      } finally {
        await consumer.close();
      }
    },
    async close() {
      await producer.close();
      await single.close();
    },
  };
}

function kafkajsDriver(bootstrap: string): Driver {
  const kafka = new Kafka({ clientId: 'bench-kafkajs', brokers: [bootstrap], logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  let connected: Promise<void> | undefined;
  const ready = (): Promise<void> => (connected ??= producer.connect());
  let group = 0;
  return {
    async produceBatched(topic, payloads, count) {
      await ready();
      await pipelined(Math.ceil(count / BATCH), BATCHES_IN_FLIGHT, (b) => {
        const n = Math.min(BATCH, count - b * BATCH);
        return producer.send({ topic, acks: -1, messages: Array.from({ length: n }, (_, i) => ({ value: payloads[(b * BATCH + i) % payloads.length] })) });
      });
    },
    async produceSingle(topic, payloads, count) {
      await ready();
      await pipelined(count, SINGLE_OUTSTANDING, (i) => producer.send({ topic, acks: -1, messages: [{ value: payloads[i % payloads.length] }] }));
    },
    async consume(topic, count) {
      const consumer: KafkajsConsumer = kafka.consumer({ groupId: `bench-kafkajs-${topic}-${group++}` });
      try {
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await untilCount('kafkajs consume', count, (add, fail) => {
          consumer.run({ autoCommit: false, eachBatch: async ({ batch }) => add(batch.messages.length) }).catch(fail);
        });
      } finally {
        await consumer.disconnect();
      }
    },
    async close() {
      await producer.disconnect();
    },
  };
}

function platformaticDriver(bootstrap: string): Driver {
  // acks goes with every send(): platformatic 1.22's send() reads acks only from its own options and, without one and
  // without idempotence, sends acks=1 — the constructor's acks is ignored (seen on the wire: Produce acks=1).
  const producer = new PlatformaticProducer({ clientId: 'bench-platformatic', bootstrapBrokers: [bootstrap], idempotent: false, acks: ProduceAcks.ALL, compression: 'none' });
  let group = 0;
  return {
    async produceBatched(topic, payloads, count) {
      await pipelined(Math.ceil(count / BATCH), BATCHES_IN_FLIGHT, (b) => {
        const n = Math.min(BATCH, count - b * BATCH);
        return producer.send({ acks: ProduceAcks.ALL, messages: Array.from({ length: n }, (_, i) => ({ topic, value: payloads[(b * BATCH + i) % payloads.length] })) });
      });
    },
    async produceSingle(topic, payloads, count) {
      await pipelined(count, SINGLE_OUTSTANDING, (i) => producer.send({ acks: ProduceAcks.ALL, messages: [{ topic, value: payloads[i % payloads.length] }] }));
    },
    async consume(topic, count) {
      const consumer = new PlatformaticConsumer({ clientId: 'bench-platformatic', groupId: `bench-platformatic-${topic}-${group++}`, bootstrapBrokers: [bootstrap] });
      try {
        const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false, maxWaitTime: 500 });
        try {
          await untilCount('platformatic consume', count, (add, fail) => {
            stream.on('data', () => add(1));
            stream.on('error', fail);
          });
        } finally {
          await stream.close();
        }
      } finally {
        await consumer.close(true);
      }
    },
    async close() {
      await producer.close();
    },
  };
}

export const DRIVERS: Record<ClientName, (bootstrap: string) => Driver> = { ours: oursDriver, kafkajs: kafkajsDriver, platformatic: platformaticDriver };

export interface ClientBenchOptions {
  /** Where the broker keeps its data (a fresh directory). */
  workDir: string;
  /** Records per size. */
  sizes: Array<{ recordBytes: number; records: number }>;
  /** Rounds of the whole comparison (default 1); each round runs every client once, in turn, on new topics. */
  rounds?: number;
  log?: (line: string) => void;
}

export async function runClientBench(options: ClientBenchOptions): Promise<ClientBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const broker = await spawnBroker(join(options.workDir, 'clients-data'), {
    settings: { 'num.partitions': String(PARTITIONS), 'group.initial.rebalance.delay.ms': '0' },
  });
  log(`Tributary (pid ${broker.pid}) at ${broker.address} for the client benchmark`);
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-admin' });
  try {
    await admin.connect();
    const sizes: ClientBenchResult['sizes'] = [];
    const rounds = options.rounds ?? 1;
    for (const { recordBytes, records } of options.sizes) {
      const payloads = makePayloads(recordBytes);
      const perRound: Array<Record<ClientName, Record<Operation, ClientThroughput>>> = [];
      for (let round = 0; round < rounds; round++) {
        if (rounds > 1) log(` round ${round + 1} of ${rounds}, ${recordBytes} B`);
        const results = {} as Record<ClientName, Record<Operation, ClientThroughput>>;
        for (const client of CLIENTS) {
          const batchedTopic = `clients-${client}-${recordBytes}-batched-r${round}`;
          const singleTopic = `clients-${client}-${recordBytes}-single-r${round}`;
          await admin.createTopics([batchedTopic, singleTopic].map((name) => ({ name, numPartitions: PARTITIONS })));
          const driver = DRIVERS[client](broker.address);
          try {
            const time = async (op: Operation, fn: () => Promise<void>): Promise<ClientThroughput> => {
              const started = performance.now();
              await withTimeout(`${client} ${op} ${recordBytes} B`, STEP_TIMEOUT_MS, fn());
              const t = throughput(performance.now() - started, records, recordBytes);
              log(`  ${client.padEnd(12)} ${String(recordBytes).padStart(4)} B  ${op.padEnd(14)} ${Math.round(t.msgsPerSec).toLocaleString('en-US').padStart(10)} msg/s  ${t.mbPerSec.toFixed(1).padStart(6)} MB/s`);
              return t;
            };
            results[client] = {
              produceBatched: await time('produceBatched', () => driver.produceBatched(batchedTopic, payloads, records)),
              produceSingle: await time('produceSingle', () => driver.produceSingle(singleTopic, payloads, records)),
              // A read is short and noisy (the broker serves from the page cache): median of CONSUME_RUNS.
              consume: await median(CONSUME_RUNS, () => time('consume', () => driver.consume(batchedTopic, records))),
            };
          } finally {
            await driver.close().catch((err: unknown) => log(`  ${client}: close failed: ${(err as Error).message}`));
          }
        }
        perRound.push(results);
      }
      // Each client's median round per operation; the ratios from those, and the worst ratio of any one round.
      const results = Object.fromEntries(CLIENTS.map((client) => [client, Object.fromEntries(OPERATIONS.map((op) => {
        return [op, medianBy(perRound.map((r) => r[client][op]), (t) => t.msgsPerSec)];
      }))])) as Record<ClientName, Record<Operation, ClientThroughput>>;
      const ratio = (other: ClientName, of: Record<ClientName, Record<Operation, ClientThroughput>>): Record<Operation, number> =>
        Object.fromEntries(OPERATIONS.map((op) => [op, of.ours[op].msgsPerSec / of[other][op].msgsPerSec])) as Record<Operation, number>;
      const worst = (other: ClientName): Record<Operation, number> =>
        Object.fromEntries(OPERATIONS.map((op) => [op, Math.min(...perRound.map((r) => ratio(other, r)[op]))])) as Record<Operation, number>;
      sizes.push({
        recordBytes, records, results,
        ratios: { oursOverKafkajs: ratio('kafkajs', results), oursOverPlatformatic: ratio('platformatic', results) },
        minRatios: { oursOverKafkajs: worst('kafkajs'), oursOverPlatformatic: worst('platformatic') },
        rounds: perRound.map((r) => Object.fromEntries(CLIENTS.map((c) => [c, Object.fromEntries(OPERATIONS.map((op) => [op, Math.round(r[c][op].msgsPerSec)]))])) as Record<ClientName, Record<Operation, number>>),
      });
    }
    return {
      date: new Date().toISOString(),
      node: process.version,
      versions: { ours: 'tributary (this tree)', kafkajs: '2.2.4', platformatic: '1.22.0' },
      settings: `acks=all, no compression, idempotence off for all clients; ${PARTITIONS} partitions; batched: ${BATCH} records per call, ${BATCHES_IN_FLIGHT} calls in flight; single: 1 record per send, ${SINGLE_OUTSTANDING} outstanding (ours with lingerMs 0, as the others do not linger); consume: ours by manual assignment, kafkajs/platformatic by a new group from earliest`,
      sizes,
      rounds,
    };
  } finally {
    await admin.close().catch(() => {});
    await broker.stop();
  }
}

/** The table of msgs/s and MB/s per client, and ours ÷ each other client (msgs/s). */
export function formatClientTable(result: ClientBenchResult): string {
  const lines: string[] = [];
  const cell = (t: ClientThroughput): string => `${Math.round(t.msgsPerSec).toLocaleString('en-US')} / ${t.mbPerSec.toFixed(1)}`;
  const widths = [30, 20, 20, 20, 15, 15];
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' ');
  const rounds = result.rounds ?? 1;
  lines.push(`\nClient throughput (msgs/s / MB/s, MB = 10^6 B of values; each client's median of ${rounds} round${rounds === 1 ? '' : 's'}, ratios: of the medians (lowest single round)); ${result.settings}`);
  lines.push(row(['', 'ours', 'kafkajs 2.2.4', 'platformatic 1.22', 'ours/kafkajs', 'ours/platf.']));
  for (const s of result.sizes) {
    for (const op of OPERATIONS) {
      lines.push(row([
        `${op} ${s.recordBytes} B ×${s.records.toLocaleString('en-US')}`,
        cell(s.results.ours[op]), cell(s.results.kafkajs[op]), cell(s.results.platformatic[op]),
        `${s.ratios.oursOverKafkajs[op].toFixed(2)} (${(s.minRatios?.oursOverKafkajs[op] ?? NaN).toFixed(2)})`,
        `${s.ratios.oursOverPlatformatic[op].toFixed(2)} (${(s.minRatios?.oursOverPlatformatic[op] ?? NaN).toFixed(2)})`,
      ]));
    }
  }
  return lines.join('\n');
}
