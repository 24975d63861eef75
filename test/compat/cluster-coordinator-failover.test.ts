/**
 * Coordinator failover in a 3-broker cluster of processes (issue 10): "Consumer groups and transactions across a
 * coordinator failover: no committed offset lost, no transaction half applied".
 *
 * - A kafka-python classic group member commits offsets; the group coordinator's broker is killed (-9). The offsets read back
 *   from the new coordinator (the new leader of the group's __consumer_offsets partition) equal those committed;
 *   the same member goes on with new records without re-reading committed ones, commits on the new coordinator,
 *   and a fresh member of the group starts exactly after that commit.
 * - kafkajs transactional producers: the transaction coordinator's broker is killed between two transactions
 *   (the next one commits on the new coordinator), and mid-transaction (records written, no EndTxn): one producer's
 *   open transaction is aborted when a new producer with its transactional id re-inits, another's when its
 *   transaction.timeout.ms runs out. read_committed then shows every committed transaction whole and no record of
 *   the unfinished ones, which read_uncommitted shows were written.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { PYTHON } from './support/python-suite.js';
import { startProcessCluster, until, type ProcessCluster } from './support/cluster.js';
import { Admin } from '../../src/client/admin.js';
import { Consumer as OurConsumer } from '../../src/client/consumer.js';
import { partitionFor } from '../../src/coordinator/runtime.js';

type Rec = [partition: number, offset: number, value: string];
interface ReadOut { records: Rec[]; committed: Record<string, number> }

const MEMBER_SCRIPT = fileURLToPath(new URL('../../../test/compat/python/kafka_python_failover.py', import.meta.url));

/** A kafka-python group member (kafka_python_failover.py) that stays in the group across commands. */
function spawnMember(bootstrap: string, topic: string, group: string): { ask<T>(command: string): Promise<T>; close(): Promise<void>; disconnect(): Promise<void> } {
  const child = spawn(PYTHON, [MEMBER_SCRIPT, bootstrap, topic, group], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr = (stderr + c.toString()).slice(-4000); });
  child.stdin.on('error', () => {});
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.stdin.end('quit\n');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return {
    async ask<T>(command: string): Promise<T> {
      child.stdin.write(`${command}\n`);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer to ${command} within 70 s\n${stderr}`)), 70_000); });
      try {
        const next = await Promise.race([lines.next(), timeout]);
        if (next.done) throw new Error(`the member exited on ${command}\n${stderr}`);
        return JSON.parse(next.value) as T;
      } finally {
        clearTimeout(timer);
      }
    },
    close,
    disconnect: close,
  };
}

const sorted = (xs: readonly string[]): string[] => [...xs].sort();
const range = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));

describe('coordinator failover in a 3-broker cluster', () => {
  let cluster: ProcessCluster;
  const open: Array<{ disconnect(): Promise<void> }> = [];
  const kafka = (): Kafka => new Kafka({
    clientId: 'cl-failover', brokers: cluster.bootstrap().split(','), logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 },
  });
  /** Our admin client, asked afresh (live brokers only) and retried until the group's offsets come back. */
  const committed = async (group: string, topic: string): Promise<Record<number, number>> => until(`${group}'s offsets`, async () => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      const offsets = await admin.listGroupOffsets(group);
      return Object.fromEntries(offsets.filter((o) => o.topic === topic).map((o) => [o.partition, Number(o.offset)]));
    } finally {
      await admin.close();
    }
  }, 20_000, 200);
  const createTopic = async (name: string, partitions: number): Promise<void> => {
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      await admin.createTopics([{ name, numPartitions: partitions }]);
    } finally {
      await admin.close();
    }
    await cluster.waitForFullIsr([name]);
  };
  const produce = async (topic: string, values: string[]): Promise<void> => {
    const p = kafka().producer({ idempotent: true, maxInFlightRequests: 1 });
    await p.connect();
    try {
      await p.send({ topic, acks: -1, messages: values.map((value, i) => ({ partition: i % 3, value })) });
    } finally {
      await p.disconnect();
    }
  };
  /** Restarts a killed broker and waits until it is back in every ISR (so the next kill leaves min.insync.replicas). */
  const restart = async (id: number, topics: string[]): Promise<void> => {
    await cluster.restart(id);
    await cluster.waitForBrokers([1, 2, 3]);
    await cluster.waitForFullIsr(topics);
  };

  before(async () => {
    cluster = await startProcessCluster(3, {
      'transaction.abort.timed.out.transaction.cleanup.interval.ms': '500',
      'replica.lag.time.max.ms': '3000',
    });
  });
  after(async () => {
    for (const c of open.reverse()) await c.disconnect().catch(() => undefined);
    await cluster?.stop();
  });

  test('a classic group (kafka-python) across a kill -9 of its coordinator: no committed offset lost, nothing re-delivered', async () => {
    const topic = 'fo-group-in';
    const group = 'fo-group';
    await createTopic(topic, 3);
    const first = range(60, (i) => `a${i}`);
    await produce(topic, first);

    const member = spawnMember(cluster.bootstrap(), topic, group);
    open.push(member);
    const read1 = await member.ask<ReadOut>('read 40');
    // The commit is exactly past the 40 records taken, and reads back from the coordinator.
    const ends = (records: Rec[], base: Record<string, number> = {}): Record<string, number> => {
      const out = { ...base };
      for (const [p, o] of records) out[p] = Math.max(out[p] ?? 0, o + 1);
      return out;
    };
    const commit1 = ends(read1.records, { 0: 0, 1: 0, 2: 0 }); // kafka-python commits every assigned partition's position
    assert.deepEqual(read1.committed, commit1);
    assert.deepEqual(await committed(group, topic), Object.fromEntries(Object.entries(commit1).map(([p, o]) => [Number(p), o])));

    const victim = await cluster.coordinator(group);
    await cluster.kill(victim);
    const successor = await cluster.coordinator(group);
    assert.notEqual(successor, victim);
    // The new coordinator is the new leader of the group's __consumer_offsets partition.
    const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
    try {
      const [offsetsTopic] = await admin.describeTopics(['__consumer_offsets']);
      assert.equal(offsetsTopic!.partitions.find((p) => p.partition === partitionFor(group, 6))!.leader, successor);
    } finally {
      await admin.close();
    }
    // The new coordinator (the new leader of the group's partition) has every committed offset…
    assert.deepEqual(await committed(group, topic), Object.fromEntries(Object.entries(commit1).map(([p, o]) => [Number(p), o])), 'offsets after the failover');
    // …and the same member goes on there: the other 20 and 30 new ones, none of the 40 again; it commits on the new coordinator.
    const second = range(30, (i) => `b${i}`);
    await produce(topic, second);
    const read2 = await member.ask<ReadOut>('read 50');
    const taken = [...read1.records, ...read2.records].map(([, , v]) => v);
    assert.deepEqual(sorted(taken), sorted([...first, ...second]), 'every record once');
    const commit2 = ends(read2.records, commit1);
    assert.deepEqual(read2.committed, commit2);
    await member.close();

    // The broker comes back; a new member of the group starts exactly after the last commit.
    await restart(victim, ['__consumer_offsets', topic]);
    assert.deepEqual(await committed(group, topic), Object.fromEntries(Object.entries(commit2).map(([p, o]) => [Number(p), o])), 'offsets after the restart');
    const third = range(12, (i) => `c${i}`);
    await produce(topic, third);
    const fresh = spawnMember(cluster.bootstrap(), topic, group);
    open.push(fresh);
    const read3 = await fresh.ask<ReadOut>('read 12');
    assert.deepEqual(sorted(read3.records.map(([, , v]) => v)), sorted(third));
    await fresh.close();
  });

  test('transactions across kill -9 of the transaction coordinator: committed ones whole, unfinished ones aborted', async () => {
    const topic = 'fo-txn';
    await createTopic(topic, 3);
    const txProducer = (id: string, timeoutMs = 60_000): Producer => {
      const p = kafka().producer({ transactionalId: id, transactionTimeout: timeoutMs, idempotent: true, maxInFlightRequests: 1, retry: { retries: 20, initialRetryTime: 100, maxRetryTime: 1000 } });
      open.push(p);
      return p;
    };
    const transact = async (p: Producer, values: string[], end: 'commit' | 'abort' | 'open'): Promise<void> => {
      const txn = await p.transaction().catch((err: Error) => { throw new Error(`begin ${values[0]}: ${err.message}`, { cause: err }); });
      await txn.send({ topic, acks: -1, messages: values.map((value, i) => ({ partition: i % 3, value })) })
        .catch((err: Error) => { throw new Error(`send ${values[0]}: ${err.message}`, { cause: err }); });
      if (end === 'commit') await txn.commit().catch((err: Error) => { throw new Error(`commit ${values[0]}: ${err.message}`, { cause: err }); });
      else if (end === 'abort') await txn.abort();
    };
    const committedValues: string[] = [];
    const unfinished: string[] = [];

    // Between transactions.
    const p1 = txProducer('fo-txn-1');
    await p1.connect();
    await transact(p1, range(9, (i) => `t0-${i}`), 'commit');
    committedValues.push(...range(9, (i) => `t0-${i}`));
    const victim1 = await cluster.coordinator('fo-txn-1', 'transaction');
    await cluster.kill(victim1);
    assert.notEqual(await cluster.coordinator('fo-txn-1', 'transaction'), victim1);
    await cluster.waitForLiveLeaders(['__transaction_state', topic]);
    await transact(p1, range(9, (i) => `t1-${i}`), 'commit');
    committedValues.push(...range(9, (i) => `t1-${i}`));
    await transact(p1, range(6, (i) => `t1x-${i}`), 'abort');
    unfinished.push(...range(6, (i) => `t1x-${i}`));
    await p1.disconnect();
    await restart(victim1, ['__transaction_state', topic]);

    // Mid-transaction: two transactional ids coordinated by the same broker, both with records written and no
    // EndTxn when that broker dies. One is re-initialised by a new producer, the other times out.
    const victim2 = await cluster.coordinator('fo-txn-1', 'transaction');
    let timedId: string | undefined;
    for (let i = 0; i < 60 && timedId === undefined; i++) {
      if (await cluster.coordinator(`fo-txn-timeout-${i}`, 'transaction') === victim2) timedId = `fo-txn-timeout-${i}`;
    }
    assert.ok(timedId, 'a transactional id coordinated by the same broker');
    const p2 = txProducer('fo-txn-1');
    await p2.connect();
    await transact(p2, range(9, (i) => `t2-${i}`), 'open');
    const p3 = txProducer(timedId, 2000);
    await p3.connect();
    await transact(p3, range(9, (i) => `x-${i}`), 'open');
    unfinished.push(...range(9, (i) => `t2-${i}`), ...range(9, (i) => `x-${i}`));
    await cluster.kill(victim2);
    await cluster.waitForLiveLeaders(['__transaction_state', topic]);

    // A new producer with p2's transactional id: its InitProducerId on the new coordinator aborts p2's transaction.
    const p4 = txProducer('fo-txn-1');
    await p4.connect();
    await transact(p4, range(9, (i) => `t3-${i}`), 'commit');
    committedValues.push(...range(9, (i) => `t3-${i}`));
    await p4.disconnect();

    // The broker comes back (and the readers' group topic can be made with 3 replicas if it is not there yet).
    await restart(victim2, ['__transaction_state', topic]);

    // read_uncommitted (kafkajs): every record written, the unfinished transactions' included.
    const read = async (readUncommitted: boolean, expected: number): Promise<string[]> => {
      const reader: Consumer = kafka().consumer({ groupId: `fo-reader-${readUncommitted}`, readUncommitted, maxWaitTimeInMs: 200 });
      open.push(reader);
      const values: string[] = [];
      await reader.connect();
      await reader.subscribe({ topic, fromBeginning: true });
      await reader.run({ eachMessage: async ({ message }) => { values.push(message.value!.toString()); } });
      await until(`${expected} records (${readUncommitted ? 'read_uncommitted' : 'read_committed'})`, () => (values.length >= expected ? true : undefined), 30_000)
        .catch(async (err: Error) => {
          const admin = new Admin({ bootstrapServers: cluster.bootstrap() });
          const q = [0, 1, 2].map((partition) => ({ topic, partition, timestamp: 'latest' as const }));
          const ends = await admin.listOffsets(q).catch((e: Error) => e.message);
          const stable = await admin.listOffsets(q, { isolationLevel: 'read_committed' }).catch((e: Error) => e.message);
          await admin.close();
          throw new Error(`${err.message}: read ${JSON.stringify(sorted(values))}; ends ${JSON.stringify(ends)}; stable ${JSON.stringify(stable)}`);
        });
      await new Promise((r) => setTimeout(r, 700));
      await reader.disconnect();
      return values;
    };
    // read_committed through our client: kafkajs's filter (filterAbortedMessages) takes at most one aborted
    // transaction per record, so when a fetch's aborted list starts with one that began before the fetch offset
    // (Kafka lists every aborted transaction overlapping the range: last offset >= fetch offset) it lets the first
    // record of the next aborted transaction through. That happens here when the reader catches up while p3's
    // transaction is still open: it read x-0, x-1, x-2 (one per partition) from logs whose markers and aborted-
    // transaction indexes were right on every replica. The Java client's algorithm (ours) takes them all.
    const readCommitted = async (expected: number): Promise<string[]> => {
      const reader = new OurConsumer({ bootstrapServers: cluster.bootstrap(), isolationLevel: 'read_committed', autoOffsetReset: 'earliest' });
      const values: string[] = [];
      try {
        await reader.connect();
        reader.assign([0, 1, 2].map((partition) => ({ topic, partition })));
        const deadline = Date.now() + 30_000;
        while (values.length < expected && Date.now() < deadline) {
          for (const r of await reader.poll(500)) values.push(r.value!.toString());
        }
        // Anything past the expected records would be a record that must not be read.
        for (const r of await reader.poll(700)) values.push(r.value!.toString());
      } finally {
        await reader.close();
      }
      return values;
    };
    // read_committed: the committed transactions whole, nothing of the others (p3's is aborted on its timeout:
    // until then the last stable offset holds the reader before it).
    assert.deepEqual(sorted(await readCommitted(committedValues.length)), sorted(committedValues));
    assert.deepEqual(sorted(await read(true, committedValues.length + unfinished.length)), sorted([...committedValues, ...unfinished]));
  });
});
