/**
 * One compatibility suite for the two Python clients. Each client has three small CLIs in
 * test/compat/python/ (<prefix>_admin.py, _produce.py, _consume.py) that print the same JSON shapes,
 * so kafka-python and confluent-kafka are held to exactly the same checks.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startTestBroker, type TestBroker } from './broker.js';
import { runJson } from './processes.js';
import {
  assertExactlyOnce, CODECS, expectedFirstAtOrAfter, makeRecords, makeTimedRecords,
  type Codec, type ConsumedRecord, type Placement, type TestRecord,
} from './records.js';

/** Debian's interpreter, which has python3-kafka and python3-confluent-kafka; not whatever python3 is first on PATH. */
export const PYTHON = '/usr/bin/python3';
const SCRIPTS = fileURLToPath(new URL('../../../../test/compat/python/', import.meta.url));

interface MetadataOut {
  brokers: Array<{ node_id: number; host: string; port: number }>;
  topics: Array<{ name: string; error: string | null; partitions: number[] }>;
}
interface TopicErrorsOut { errors: Array<{ topic: string; error: string | null; message?: string }> }
interface ConsumeOut {
  start: Record<string, number | null>;
  end: Record<string, number>;
  records: ConsumedRecord[];
}

export function pythonClientSuite(client: string, prefix: string): void {
  const script = (name: string): string => `${SCRIPTS}${prefix}_${name}.py`;
  const py = <T>(name: string, args: readonly string[], input?: string): Promise<T> =>
    runJson<T>(PYTHON, [script(name), ...args], { input, timeoutMs: 60_000 });

  describe(`${client} against Tributary`, () => {
    let broker: TestBroker;
    before(async () => {
      broker = await startTestBroker();
    });
    after(async () => {
      await broker?.close();
    });

    const metadata = (): Promise<MetadataOut> => py<MetadataOut>('admin', [broker.address, 'metadata']);
    const produce = (topic: string, codec: Codec, records: readonly TestRecord[], partition?: number): Promise<Placement[]> =>
      py<Placement[]>('produce', [broker.address, topic, codec, ...(partition === undefined ? [] : [String(partition)])], JSON.stringify(records));

    test('metadata lists the one broker', async () => {
      const md = await metadata();
      const [host, port] = broker.address.split(':');
      assert.deepEqual(md.brokers.map((b) => ({ host: b.host, port: b.port })), [{ host, port: Number(port) }]);
    });

    const topic = `${prefix}-all-codecs`;
    const produced: TestRecord[] = [];
    const placements: Placement[] = [];

    test('admin creates a topic with 3 partitions', async () => {
      const created = await py<TopicErrorsOut>('admin', [broker.address, 'create', topic, '3']);
      assert.deepEqual(created.errors.map((e) => ({ topic: e.topic, error: e.error })), [{ topic, error: null }]);
      const md = await metadata();
      assert.deepEqual(md.topics.find((t) => t.name === topic), { name: topic, error: null, partitions: [0, 1, 2] });
    });

    for (const codec of CODECS) {
      test(`produces keyed records with compression ${codec}`, async () => {
        const records = makeRecords(`${prefix}-${codec}`, 40);
        const acks = await produce(topic, codec, records);
        assert.equal(acks.length, records.length);
        produced.push(...records);
        placements.push(...acks);
      });
    }

    test('consumes every record exactly once from the beginning, where its acknowledgement said', async () => {
      assert.equal(produced.length, 40 * CODECS.length, 'the produce tests ran first');
      const out = await py<ConsumeOut>('consume', [broker.address, topic]);
      assert.deepEqual(out.start, { 0: 0, 1: 0, 2: 0 });
      const keyPartitions = assertExactlyOnce(produced, out.records, { headers: true, placements });
      // Seven keys over three partitions: a partitioner that spreads nothing would be a client or broker bug.
      assert.ok(new Set(keyPartitions.values()).size > 1, 'all keys landed in one partition');
    });

    test('consumes from a timestamp (offsets_for_times)', async () => {
      const timed = `${prefix}-timestamps`;
      const created = await py<TopicErrorsOut>('admin', [broker.address, 'create', timed, '1']);
      assert.equal(created.errors[0].error, null);
      const base = Date.now() - 3_600_000;
      const records = makeTimedRecords(`${prefix}-ts`, 10, base);
      const acks = await produce(timed, 'none', records, 0);
      assert.deepEqual(acks.map((a) => a.offset), [...records.keys()]);

      // Between record 5 and record 6: the consume must start at record 6.
      const at = base + 5_500;
      const out = await py<ConsumeOut>('consume', [broker.address, timed, '0', String(at)]);
      const expected = expectedFirstAtOrAfter(records, at)!;
      assert.equal(out.start['0'], 6);
      assert.equal(out.records[0]?.value, expected.value);
      assert.deepEqual(out.records.map((r) => r.timestamp), records.slice(6).map((r) => r.timestamp));

      // Exactly on a record's timestamp: that record is the first.
      const exact = await py<ConsumeOut>('consume', [broker.address, timed, '0', String(base + 3_000)]);
      assert.equal(exact.start['0'], 3);
      assert.equal(exact.records[0]?.value, records[3].value);
    });

    test('admin deletes the topics and metadata no longer lists them', async () => {
      for (const name of [topic, `${prefix}-timestamps`]) {
        const deleted = await py<TopicErrorsOut>('admin', [broker.address, 'delete', name]);
        assert.deepEqual(deleted.errors.map((e) => ({ topic: e.topic, error: e.error })), [{ topic: name, error: null }]);
      }
      const md = await metadata();
      assert.deepEqual(md.topics.filter((t) => t.name.startsWith(prefix)), []);
    });
  });
}
