/**
 * Log compaction seen by real clients: kcat (librdkafka 2.0.2) produces many updates over 1,000 keys to a
 * compacted topic; once the cleaner has run, kcat and kafka-python 2.0.2 each read back exactly the 1,000
 * latest values at their original offsets. COMPACTION_UPDATES sets the number of updates (default 1,000,000,
 * about 2 s). Also: librdkafka gets INVALID_RECORD for a keyless record (its test 0011).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { run, runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';

const UPDATES = Number(process.env.COMPACTION_UPDATES ?? 1_000_000);
const KEYS = 1000;
const TOPIC = 'compacted-updates';

interface ReadRecord {
  offset: number;
  key: string | null;
  value: string | null;
}

describe('log compaction with kcat and kafka-python', () => {
  let broker: RunningBroker;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-compat-compaction-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: (process.env.COMPACTION_LOG ?? 'silent') as 'silent', config: { 'log.cleaner.backoff.ms': '100' } });
    await broker.context.topics.create(TOPIC, {
      partitions: 1, replicationFactor: 1,
      config: { 'cleanup.policy': 'compact', 'segment.bytes': '1048576' },
    });
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const kcat = (args: readonly string[], input?: string, allowFailure = false) =>
    run('kcat', ['-b', broker.address, ...args], { input, timeoutMs: 120_000, allowFailure });

  const line = (i: number): string => `k${i % KEYS}:v${i}`;
  /** The latest offset of every key, and its value. */
  const expected = (): Map<string, { offset: number; value: string }> => {
    const m = new Map<string, { offset: number; value: string }>();
    for (let i = UPDATES - KEYS; i < UPDATES; i++) m.set(`k${i % KEYS}`, { offset: i, value: `v${i}` });
    return m;
  };

  test(`kcat produces ${UPDATES} updates over ${KEYS} keys; the cleaner keeps the latest of each`, async () => {
    const started = Date.now();
    const produce = async (from: number, to: number): Promise<void> => {
      const lines: string[] = [];
      for (let i = from; i < to; i++) lines.push(line(i));
      await kcat(['-P', '-t', TOPIC, '-K:', '-X', 'linger.ms=50', '-X', 'batch.num.messages=10000'], lines.join('\n') + '\n');
    };
    await produce(0, UPDATES);
    const produceMs = Date.now() - started;
    const log = broker.context.topics.log(TOPIC, 0);
    assert.equal(log.logEndOffset, UPDATES);
    // The active segment is never cleaned (nor mapped), so its records would shadow nothing. Kafka rolls it on
    // the next append past segment.ms; the test rolls it directly so that no further record is needed.
    log.roll();
    const sizeBefore = log.size();
    const deadline = Date.now() + 60_000;
    while (log.size() > sizeBefore / 20 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(log.size() <= sizeBefore / 20, `cleaned to ${log.size()} of ${sizeBefore} bytes`);
    if (process.env.COMPACTION_UPDATES) console.log(JSON.stringify({ updates: UPDATES, produceMs, cleanedMs: Date.now() - started - produceMs }));
  });

  const check = (records: ReadRecord[]): void => {
    const want = expected();
    assert.equal(records.length, KEYS);
    for (const r of records) {
      const e = want.get(r.key!);
      assert.ok(e, `unexpected key ${r.key}`);
      assert.deepEqual([r.offset, r.value], [e.offset, e.value], `key ${r.key}`);
      want.delete(r.key!);
    }
    assert.equal(want.size, 0);
  };

  test('kcat reads back exactly the 1,000 latest values', async () => {
    const out = await kcat(['-C', '-t', TOPIC, '-o', 'beginning', '-e', '-J', '-q']);
    const records = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as { offset: number; key: string; payload: string });
    check(records.map((r) => ({ offset: r.offset, key: r.key, value: r.payload })));
  });

  test('kafka-python reads back exactly the 1,000 latest values', async () => {
    const script = fileURLToPath(new URL('../../../test/compat/python/kafka_python_consume.py', import.meta.url));
    const out = await runJson<{ records: ReadRecord[] }>(PYTHON, [script, broker.address, TOPIC], { timeoutMs: 120_000 });
    check(out.records);
  });

  test('librdkafka gets INVALID_RECORD for a keyless record to a compacted topic (its test 0011)', async () => {
    const out = await kcat(['-P', '-t', TOPIC, '-X', 'message.send.max.retries=0'], 'no-key\n', true);
    // librdkafka's text for INVALID_RECORD (87).
    assert.match(out.stderr, /Broker failed to validate record/);
    assert.equal(broker.context.topics.log(TOPIC, 0).logEndOffset, UPDATES, 'nothing appended');
  });
});
