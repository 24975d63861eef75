/**
 * confluent-kafka 1.7.0 / librdkafka 2.0.2 with partition.assignment.strategy=cooperative-sticky in one
 * classic group: the broker knows nothing of the assignor, it only has to follow the JoinGroup/SyncGroup
 * protocol for incremental rebalances to work. Two consumers split four partitions; a third joins and
 * partitions move one by one (no consumer loses a partition it keeps); every record is read once.
 * One race is Kafka's too: a commit sent while the member's JoinGroup is parked is read by the coordinator
 * only after the join completed, so it carries the old generation and is ILLEGAL_GENERATION (Kafka checks
 * the generation before REBALANCE_IN_PROGRESS); librdkafka then rejoins treating its assignment as lost.
 * Such a member may lose and regain partitions, and re-read what it had not committed on them; nothing else.
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

const SCRIPTS = fileURLToPath(new URL('../../../test/compat/python/', import.meta.url));
const CONFIG = { 'num.partitions': 4, 'offsets.topic.num.partitions': 5, 'group.initial.rebalance.delay.ms': 0 };
const PARTITIONS = 4;
const COUNT = 60;

interface CooperativeOut {
  protocol: string | null;
  before: Record<string, number[]>;
  after: Record<string, number[]>;
  events: Array<[string, 'assign' | 'revoke' | 'lost' | 'commit-failed' | 'commit-stale', number[], 'join' | 'third' | 'close']>;
  consumed: Array<[string, number, number, string]>;
}

describe('confluent-kafka cooperative-sticky group against Tributary', () => {
  let broker: RunningBroker;
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-compat-coop-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: CONFIG, logLevel: 'silent' });
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('two consumers split four partitions; a third joins and partitions move incrementally; every record once', async () => {
    const out = await runJson<CooperativeOut>(PYTHON, [`${SCRIPTS}confluent_kafka_cooperative.py`, broker.address, 'coop', 'coop-group', String(PARTITIONS), String(COUNT)], { timeoutMs: 120_000 });
    if (out.protocol !== null) assert.equal(out.protocol, 'COOPERATIVE');

    const all = [0, 1, 2, 3];
    assert.deepEqual([...out.before.c1!, ...out.before.c2!].sort(), all);
    assert.deepEqual([out.before.c1!.length, out.before.c2!.length], [2, 2]);
    assert.deepEqual([...out.after.c1!, ...out.after.c2!, ...out.after.c3!].sort(), all);
    for (const name of ['c1', 'c2', 'c3']) assert.ok(out.after[name]!.length >= 1, `${name} has a partition`);

    // Members that saw a stale-generation commit (the race above) and lost their assignment.
    const stale = new Set(out.events.filter(([, kind]) => kind === 'commit-stale' || kind === 'lost').map(([n]) => n));
    // Incremental: after the third joined, the first two were only ever asked to give up what moved — unless
    // a member lost its assignment (the race above), after which librdkafka rebalances the group afresh.
    if (stale.size === 0) {
      for (const name of ['c1', 'c2']) {
        const kept = out.before[name]!.filter((p) => out.after[name]!.includes(p));
        assert.ok(kept.length >= 1, `${name} kept a partition: ${JSON.stringify(out.events)}`);
        const revoked = out.events.filter(([n, kind, , phase]) => n === name && kind === 'revoke' && phase === 'third').flatMap(([, , ps]) => ps);
        for (const p of kept) assert.ok(!revoked.includes(p), `${name} lost partition ${p} it keeps: ${JSON.stringify(out.events)}`);
        assert.deepEqual(revoked.sort(), out.before[name]!.filter((p) => !kept.includes(p)), `${name}: ${JSON.stringify(out.events)}`);
      }
      // The newcomer took exactly what the others gave up, in incremental assigns.
      const assignedToC3 = out.events.filter(([n, kind]) => n === 'c3' && kind === 'assign').flatMap(([, , ps]) => ps).sort();
      assert.deepEqual(assignedToC3, out.after.c3!.slice().sort(), JSON.stringify(out.events));
    }

    // A failed commit in a revoke callback only for a member whose assignment was lost.
    for (const [n] of out.events.filter(([, kind]) => kind === 'commit-failed')) assert.ok(stale.has(n), `${n}: ${JSON.stringify(out.events)}`);
    // Every record once (commits after each record carry partitions across the rebalance), except that a
    // member that lost its assignment may re-read what it had not committed.
    const values = out.consumed.map(([, , , v]) => v);
    const seen = new Set<string>();
    for (const [name, , , v] of out.consumed) {
      assert.ok(!seen.has(v) || stale.size > 0, `${v} read twice (by ${name}) with no lost assignment`);
      seen.add(v);
    }
    assert.deepEqual(new Set(values), new Set(Array.from({ length: 2 * COUNT }, (_, i) => `v-${i}`)));
    for (const [, partition, , value] of out.consumed) assert.equal(partition, Number(value.slice(2)) % PARTITIONS);
  });
});
