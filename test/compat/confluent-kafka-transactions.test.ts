/**
 * confluent-kafka 1.7.0 / librdkafka 2.0.2 transactions against Tributary: a consume-transform-produce loop
 * (read_committed group consumer without auto commit, transactional producer sending the consumer's
 * positions with its group metadata), every third transaction aborted on purpose and its batch redone.
 * The output read back read_committed holds every input exactly once and nothing of an aborted transaction;
 * read_uncommitted shows the aborted records were written; the group's committed offsets move with committed
 * transactions only. A second producer with the same transactional.id fences the first.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));
const TXN_SCRIPT = `${SCRIPTS}confluent_kafka_txn.py`;
const COUNT = 30;
const BATCH = 5;
const ABORT_EVERY = 3;

type Rec = [partition: number, offset: number, value: string];
interface Txn {
  n: number;
  outcome: 'commit' | 'abort';
  inputs: Rec[];
  sent: Record<string, number>;
  committed: Record<string, number>;
}
interface CtpOut { txns: Txn[]; final: Record<string, number> }
interface ReadOut { records: Rec[] }
interface FenceOut {
  p1_error: { name: string; fatal: boolean; retriable: boolean; abortable: boolean } | null;
  p2_committed: boolean;
}

/** Only real offsets: librdkafka reports partitions it has no position for as -1001. */
const realOffsets = (offsets: Record<string, number>): Record<string, number> =>
  Object.fromEntries(Object.entries(offsets).filter(([, o]) => o >= 0));

describe('confluent-kafka transactions against Tributary', () => {
  let broker: TestBroker;
  const py = <T>(args: readonly string[]): Promise<T> => runJson<T>(PYTHON, [TXN_SCRIPT, broker.address, ...args], { timeoutMs: 90_000 });
  const create = async (topic: string, partitions: number): Promise<void> => {
    const out = await runJson<{ errors: Array<{ error: string | null }> }>(PYTHON, [`${SCRIPTS}confluent_kafka_admin.py`, broker.address, 'create', topic, String(partitions)]);
    assert.deepEqual(out.errors.map((e) => e.error), [null]);
  };
  const values = (out: ReadOut): string[] => out.records.map(([, , v]) => v);

  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'offsets.topic.num.partitions': '5', 'transaction.state.log.num.partitions': '5' });
  });
  after(async () => {
    await broker?.close();
  });

  test('consume-transform-produce: committed outputs exactly once, aborted never; offsets follow commits', async () => {
    await create('ck-txn-in', 2);
    await create('ck-txn-out', 2);
    const out = await py<CtpOut>(['ctp', 'ck-txn-in', 'ck-txn-out', 'ck-txn-group', 'ck-txn-1', String(COUNT), String(BATCH), String(ABORT_EVERY)]);

    const aborted = out.txns.filter((t) => t.outcome === 'abort');
    const committedTxns = out.txns.filter((t) => t.outcome === 'commit');
    assert.ok(aborted.length >= 2, `some transactions aborted: ${JSON.stringify(out.txns)}`);

    // The group's offsets: a commit publishes exactly what it sent, an abort leaves them as they were.
    let groupOffsets: Record<string, number> = {};
    for (const txn of out.txns) {
      if (txn.outcome === 'commit') groupOffsets = { ...groupOffsets, ...realOffsets(txn.sent) };
      assert.deepEqual(realOffsets(txn.committed), groupOffsets, `group offsets after transaction ${txn.n} (${txn.outcome})`);
    }
    assert.deepEqual(out.final, { 0: COUNT / 2, 1: COUNT / 2 });

    const outputOf = (txns: Txn[]): string[] => txns.flatMap((t) => t.inputs.map(([, , v]) => `${v}|t${t.n}`)).sort();
    // read_committed: each committed transaction's outputs, so every input exactly once; nothing aborted.
    const readCommitted = await py<ReadOut>(['read', 'ck-txn-out', 'read_committed']);
    assert.deepEqual(values(readCommitted).sort(), outputOf(committedTxns));
    const inputs = values(readCommitted).map((v) => v.split('|')[0]!);
    assert.equal(new Set(inputs).size, COUNT);
    assert.deepEqual(new Set(inputs), new Set(Array.from({ length: COUNT }, (_, i) => `in-${i}`)));
    for (const [partition, , value] of readCommitted.records) assert.equal(partition, Number(value.slice(3).split('|')[0]) % 2, value);

    // read_uncommitted: the aborted records are in the log too.
    const readUncommitted = await py<ReadOut>(['read', 'ck-txn-out', 'read_uncommitted']);
    assert.deepEqual(values(readUncommitted).sort(), outputOf(out.txns));
  });

  test('a second producer with the same transactional.id fences the first', async () => {
    await create('ck-txn-fence', 1);
    const out = await py<FenceOut>(['fence', 'ck-txn-fence', 'ck-txn-fenced']);
    assert.ok(out.p1_error, 'the first producer was not fenced');
    assert.ok(['_FENCED', 'PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH'].includes(out.p1_error.name), out.p1_error.name);
    assert.equal(out.p1_error.fatal, true);
    assert.equal(out.p2_committed, true);

    // The fenced producer's open transaction was aborted: written, never visible to read_committed.
    assert.deepEqual(values(await py<ReadOut>(['read', 'ck-txn-fence', 'read_committed'])), ['p2']);
    assert.deepEqual(values(await py<ReadOut>(['read', 'ck-txn-fence', 'read_uncommitted'])), ['p1-open', 'p2']);
  });
});
