/**
 * kafka-python 2.0.2 consumer groups against Tributary: consumers splitting partitions, a member leaving
 * and the rest taking over, manual commits that a restarted consumer (and a restarted broker) resume
 * from exactly, and the admin client's group listing, description and offsets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';
import { makeRecords, type Placement, type TestRecord } from './support/records.js';

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));
const CONFIG = { 'num.partitions': 3, 'offsets.topic.num.partitions': 5, 'group.initial.rebalance.delay.ms': 0 };

interface SplitOut {
  before: number[][];
  after: number[][];
  described: Array<{ group: string; state: string; protocol_type: string; protocol: string; members: Array<{ client_id: string; topics: string[]; assignment: number[] }> }>;
  consumed: Array<[number, number]>;
  errors: string[];
}
interface CommitOut {
  committed_before: Record<string, number | null>;
  records: Array<{ partition: number; offset: number; value: string }>;
  commits: Record<string, number>;
}
interface AdminOut {
  listed: Array<[string, string]>;
  described: SplitOut['described'];
  offsets: Array<[string, number, number, string]>;
}

describe('kafka-python consumer groups against Tributary', () => {
  let broker: RunningBroker;
  let dataDir: string;
  const py = <T>(script: string, args: readonly string[], input?: string): Promise<T> =>
    runJson<T>(PYTHON, [`${SCRIPTS}${script}`, ...args], { input, timeoutMs: 90_000 });
  const produce = (topic: string, records: readonly TestRecord[]): Promise<Placement[]> =>
    py<Placement[]>('kafka_python_produce.py', [broker.address, topic, 'none'], JSON.stringify(records));
  const create = async (topic: string, partitions: number): Promise<void> => {
    const out = await py<{ errors: Array<{ error: string | null }> }>('kafka_python_admin.py', [broker.address, 'create', topic, String(partitions)]);
    assert.equal(out.errors[0]!.error, null);
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-compat-groups-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: CONFIG, logLevel: 'silent' });
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('three consumers split three partitions; when one leaves, the other two take its partition', async () => {
    const topic = 'kp-split';
    await create(topic, 3);
    const placements = await produce(topic, makeRecords('kp-split', 30));
    const out = await py<SplitOut>('kafka_python_group.py', ['split', broker.address, topic, 'kp-split-group', '3', '30']);
    assert.deepEqual(out.errors, []);
    assert.deepEqual(out.before.map((a) => a.length), [1, 1, 1], 'one partition each');
    assert.deepEqual(out.before.flat().sort(), [0, 1, 2]);
    assert.deepEqual(out.after.flat().sort(), [0, 1, 2], 'the two remaining members cover every partition');
    assert.ok(out.after.every((a) => a.length >= 1));
    assert.deepEqual(out.consumed, placements.map((p) => [p.partition, p.offset]).sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
    const [d] = out.described;
    assert.equal(d!.state, 'Stable');
    assert.equal(d!.protocol_type, 'consumer');
    assert.equal(d!.protocol, 'range');
    assert.deepEqual(d!.members.map((m) => m.client_id), ['member-0', 'member-1', 'member-2']);
    assert.ok(d!.members.every((m) => m.topics.length === 1 && m.topics[0] === topic && m.assignment.length === 1));
  });

  const topic = 'kp-commit';
  const group = 'kp-commit-group';
  let all: TestRecord[] = [];
  let first: CommitOut;

  test('a consumer commits after 10 records; a restarted consumer resumes exactly after the commit', async () => {
    await create(topic, 2);
    all = makeRecords('kp-commit', 24);
    await produce(topic, all);
    first = await py<CommitOut>('kafka_python_group.py', ['commit', broker.address, topic, group, '10']);
    assert.equal(first.records.length, 10);
    assert.deepEqual(first.committed_before, { 0: null, 1: null });
    const second = await py<CommitOut>('kafka_python_group.py', ['commit', broker.address, topic, group, '-1']);
    for (const [p, off] of Object.entries(first.commits)) assert.equal(second.committed_before[p], off, `partition ${p} resumes at its commit`);
    const values = [...first.records, ...second.records].map((r) => r.value).sort();
    assert.deepEqual(values, all.map((r) => r.value).sort(), 'every record exactly once across the two runs');
  });

  test('the admin client lists the groups, describes one and lists its committed offsets', async () => {
    const out = await py<AdminOut>('kafka_python_group.py', ['admin', broker.address, group]);
    assert.ok(out.listed.some(([g, type]) => g === group && type === 'consumer'));
    assert.ok(out.listed.some(([g]) => g === 'kp-split-group'));
    assert.equal(out.described[0]!.state, 'Empty');
    assert.deepEqual(out.offsets, Object.entries(first.commits).map(([p, o]) => [topic, Number(p), o, 'kafka-python']));
  });

  test('after a broker restart the committed offsets are still there and consumption resumes after them', async () => {
    await broker.close();
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: CONFIG, logLevel: 'silent' });
    const admin = await py<AdminOut>('kafka_python_group.py', ['admin', broker.address, group]);
    assert.deepEqual(admin.offsets, Object.entries(first.commits).map(([p, o]) => [topic, Number(p), o, 'kafka-python']));
    const more = makeRecords('kp-commit-after-restart', 6);
    await produce(topic, more);
    const third = await py<CommitOut>('kafka_python_group.py', ['commit', broker.address, topic, group, '-1']);
    // Nothing was committed by the second run, so the group resumes from the first run's commits.
    assert.deepEqual(third.committed_before, { 0: first.commits['0'] ?? null, 1: first.commits['1'] ?? null });
    const expected = [...all.map((r) => r.value).filter((v) => !first.records.some((r) => r.value === v)), ...more.map((r) => r.value)].sort();
    assert.deepEqual(third.records.map((r) => r.value).sort(), expected);
  });
});
