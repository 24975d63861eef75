import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, type ConsumerOptions, type TopicPartition } from '../../../src/client/consumer.js';
import { Writer, pollN, pollUntil, str, withBroker } from './consumer-support.js';

const key = (tp: TopicPartition): string => `${tp.topic}-${tp.partition}`;

function groupConsumer(address: string, groupId: string, extra: Partial<ConsumerOptions> = {}): Consumer {
  return new Consumer({
    bootstrapServers: address,
    groupId,
    autoOffsetReset: 'earliest',
    sessionTimeoutMs: 2000,
    heartbeatIntervalMs: 100,
    maxPollIntervalMs: 5000,
    retryBackoffMs: 50,
    ...extra,
  });
}

/** True when the consumers' assignments are disjoint, non-empty and cover `total` partitions. */
function split(consumers: Consumer[], total: number): boolean {
  const all = consumers.flatMap((c) => c.assignment().map(key));
  return consumers.every((c) => c.assignment().length > 0) && all.length === total && new Set(all).size === total;
}

async function closeAll(consumers: Consumer[]): Promise<void> {
  await Promise.all(consumers.map((c) => c.close()));
}

for (const assignor of ['range', 'roundrobin'] as const) {
  test(`two consumers split the partitions (${assignor}) and read every record exactly once`, async () => {
    await withBroker(async (address) => {
      const w = await Writer.open(address);
      await w.createTopic('g', 4);
      const a = groupConsumer(address, `split-${assignor}`, { partitionAssignors: [assignor] });
      const b = groupConsumer(address, `split-${assignor}`, { partitionAssignors: [assignor] });
      try {
        await a.connect();
        await b.connect();
        await a.subscribe(['g']);
        await b.subscribe(['g']);
        await pollUntil([a, b], () => split([a, b], 4));
        assert.equal(a.assignment().length, 2);
        assert.equal(b.assignment().length, 2);
        assert.equal(a.groupMetadata().generationId, b.groupMetadata().generationId);
        assert.notEqual(a.groupMetadata().memberId, b.groupMetadata().memberId);
        for (let p = 0; p < 4; p++) await w.fill('g', p, 10, 5, 0, `p${p}-`);
        const records = [];
        const deadline = Date.now() + 10_000;
        while (records.length < 40 && Date.now() < deadline) {
          const [ra, rb] = await Promise.all([a.poll(100), b.poll(100)]);
          for (const r of ra) assert.ok(a.assignment().some((tp) => tp.partition === r.partition));
          for (const r of rb) assert.ok(b.assignment().some((tp) => tp.partition === r.partition));
          records.push(...ra, ...rb);
        }
        const values = records.map((r) => str(r.value)!).sort();
        assert.equal(values.length, 40);
        assert.equal(new Set(values).size, 40);
      } finally {
        await closeAll([a, b]);
        await w.close();
      }
    });
  });
}

test('cooperative-sticky: a third member joins and the others keep the partitions they still own', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('coop', 6);
    const revoked = new Map<string, TopicPartition[][]>();
    const listener = (name: string) => ({
      onPartitionsRevoked: (tps: TopicPartition[]) => {
        if (tps.length > 0) revoked.set(name, [...(revoked.get(name) ?? []), tps]);
      },
    });
    const opts = (name: string): Partial<ConsumerOptions> => ({ partitionAssignors: ['cooperative-sticky'], rebalanceListener: listener(name) });
    const a = groupConsumer(address, 'coop', opts('a'));
    const b = groupConsumer(address, 'coop', opts('b'));
    const c = groupConsumer(address, 'coop', opts('c'));
    try {
      for (const x of [a, b, c]) await x.connect();
      await a.subscribe(['coop']);
      await b.subscribe(['coop']);
      await pollUntil([a, b], () => split([a, b], 6) && a.assignment().length === 3);
      const beforeA = a.assignment().map(key);
      const beforeB = b.assignment().map(key);
      revoked.clear();
      await c.subscribe(['coop']);
      await pollUntil([a, b, c], () => split([a, b, c], 6) && [a, b, c].every((x) => x.assignment().length === 2));
      // Each old member kept two of its three partitions and gave up only the one that moved.
      const afterA = a.assignment().map(key);
      const afterB = b.assignment().map(key);
      assert.ok(afterA.every((k) => beforeA.includes(k)), `a kept ${afterA} of ${beforeA}`);
      assert.ok(afterB.every((k) => beforeB.includes(k)), `b kept ${afterB} of ${beforeB}`);
      for (const name of ['a', 'b']) {
        const lists = revoked.get(name) ?? [];
        assert.deepEqual(lists.flat().length, 1, `${name} revoked only the partition that moved: ${JSON.stringify(lists)}`);
      }
      assert.equal(revoked.get('c'), undefined);
    } finally {
      await closeAll([a, b, c]);
      await w.close();
    }
  });
});

test("a leaving member's partitions move to the one that stays", async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('leave', 4);
    const a = groupConsumer(address, 'leavers', { partitionAssignors: ['range'] });
    const b = groupConsumer(address, 'leavers', { partitionAssignors: ['range'] });
    try {
      await a.connect();
      await b.connect();
      await a.subscribe(['leave']);
      await b.subscribe(['leave']);
      await pollUntil([a, b], () => split([a, b], 4));
      const started = Date.now();
      await b.close();
      await pollUntil([a], () => a.assignment().length === 4, 5000);
      // LeaveGroup, not the 2 s session timeout, triggered the rebalance.
      assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
    } finally {
      await closeAll([a, b]);
      await w.close();
    }
  });
});

test('committed offsets: a restarted member resumes exactly after the last commit; auto-commit commits by itself', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('resume', 1);
    await w.fill('resume', 0, 30, 10);
    const tp = { topic: 'resume', partition: 0 };
    const a = groupConsumer(address, 'resumers', { enableAutoCommit: false, maxPollRecords: 12 });
    try {
      await a.connect();
      await a.subscribe(['resume']);
      const first = await pollN(a, 12);
      assert.deepEqual(first.map((r) => r.offset), Array.from({ length: 12 }, (_, i) => i));
      await a.commit();
      assert.deepEqual(await a.committed([tp]), [{ ...tp, offset: 12, metadata: '' }]);
    } finally {
      await a.close();
    }
    // Uncommitted progress is not kept: enableAutoCommit is off.
    const b = groupConsumer(address, 'resumers', { autoCommitIntervalMs: 100 });
    try {
      await b.connect();
      await b.subscribe(['resume']);
      const rest = await pollN(b, 18);
      assert.deepEqual(rest.map((r) => r.offset), Array.from({ length: 18 }, (_, i) => i + 12));
      // Auto-commit: no commit() call, yet the position lands in the group.
      const deadline = Date.now() + 5000;
      while ((await b.committed([tp]))[0].offset !== 30) {
        assert.ok(Date.now() < deadline, 'auto-commit did not happen');
        await b.poll(100);
      }
    } finally {
      await b.close();
      await w.close();
    }
  });
});

test("KIP-848 (groupProtocol 'consumer'): two members split the partitions and read every record", async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('kip848', 4);
    for (let p = 0; p < 4; p++) await w.fill('kip848', p, 5, 5, 0, `p${p}-`);
    const assigned: TopicPartition[][] = [];
    const a = groupConsumer(address, 'new-protocol', { groupProtocol: 'consumer', rebalanceListener: { onPartitionsAssigned: (tps) => void assigned.push(tps) } });
    const b = groupConsumer(address, 'new-protocol', { groupProtocol: 'consumer' });
    try {
      await a.connect();
      await b.connect();
      await a.subscribe(['kip848']);
      await pollUntil([a], () => a.assignment().length === 4);
      await b.subscribe(['kip848']);
      await pollUntil([a, b], () => split([a, b], 4) && a.assignment().length === 2);
      assert.ok(b.groupMetadata().generationId > 0);
      assert.ok(assigned.length >= 1);
      await b.close();
      await pollUntil([a], () => a.assignment().length === 4, 5000);
      await a.seekToBeginning();
      const got = await pollN(a, 20);
      assert.equal(new Set(got.map((r) => str(r.value))).size, 20);
    } finally {
      await closeAll([a, b]);
      await w.close();
    }
  });
});

test("KIP-848 regex subscription: the broker resolves it, and a topic created later is consumed too", async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('rx-one', 2);
    await w.createTopic('not-rx', 1);
    for (let p = 0; p < 2; p++) await w.fill('rx-one', p, 3, 3, 0, `one-${p}-`);
    await w.fill('not-rx', 0, 3, 3, 0, 'no-');
    const c = groupConsumer(address, 'regex-group', { groupProtocol: 'consumer' });
    const classic = groupConsumer(address, 'regex-classic');
    try {
      await assert.rejects(classic.subscribe({ topicRegex: 'rx-.*' }), /groupProtocol 'consumer'/);
      await c.subscribe({ topicRegex: 'rx-.*' });
      const first = await pollN(c, 6);
      assert.deepEqual(new Set(first.map((r) => r.topic)), new Set(['rx-one']));
      await w.createTopic('rx-two', 1);
      await w.fill('rx-two', 0, 4, 4, 0, 'two-');
      const later = await pollN(c, 4, 15_000);
      assert.deepEqual(later.map((r) => r.topic), ['rx-two', 'rx-two', 'rx-two', 'rx-two']);
      assert.deepEqual(c.assignment().map(key).sort(), ['rx-one-0', 'rx-one-1', 'rx-two-0']);
    } finally {
      await closeAll([c, classic]);
      await w.close();
    }
  });
});

test('static membership: a member restarting with its groupInstanceId gets its partitions back, with no rebalance', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('static', 4);
    const a = groupConsumer(address, 'statics', { partitionAssignors: ['range'], groupInstanceId: 'instance-a', sessionTimeoutMs: 5000 });
    const b = groupConsumer(address, 'statics', { partitionAssignors: ['range'] });
    let a2: Consumer | null = null;
    try {
      await a.connect();
      await b.connect();
      await a.subscribe(['static']);
      await b.subscribe(['static']);
      await pollUntil([a, b], () => split([a, b], 4));
      const owned = a.assignment().map(key);
      const generation = b.groupMetadata().generationId;
      assert.equal(a.groupMetadata().groupInstanceId, 'instance-a');
      await a.close(); // no LeaveGroup for a static member
      const until = Date.now() + 500;
      while (Date.now() < until) await b.poll(50);
      assert.equal(b.groupMetadata().generationId, generation, 'no rebalance while the static member is away');
      a2 = groupConsumer(address, 'statics', { partitionAssignors: ['range'], groupInstanceId: 'instance-a', sessionTimeoutMs: 5000 });
      await a2.connect();
      await a2.subscribe(['static']);
      const again = a2;
      await pollUntil([again, b], () => again.assignment().length > 0);
      assert.deepEqual(again.assignment().map(key), owned);
      assert.equal(b.assignment().length, 2);
    } finally {
      await closeAll([a, b, ...(a2 ? [a2] : [])]);
      await w.close();
    }
  });
});

test('fenced members lose their partitions (onPartitionsLost) and rejoin: classic ILLEGAL_GENERATION, KIP-848 FENCED_MEMBER_EPOCH', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('fence', 2);
    for (const groupProtocol of ['classic', 'consumer'] as const) {
      const lost: TopicPartition[][] = [];
      const c = groupConsumer(address, `fenced-${groupProtocol}`, { groupProtocol, rebalanceListener: { onPartitionsLost: (tps) => void lost.push(tps) } });
      try {
        await c.connect();
        await c.subscribe(['fence']);
        await pollUntil([c], () => c.assignment().length === 2);
        // Make the member's idea of its generation / epoch stale, as after a missed rebalance.
        const group = (c as unknown as { group: { generationId?: number; memberEpoch?: number } }).group;
        if (groupProtocol === 'classic') group.generationId = group.generationId! + 100;
        else group.memberEpoch = group.memberEpoch! + 100;
        await pollUntil([c], () => lost.length > 0);
        assert.deepEqual(lost[0].map(key), ['fence-0', 'fence-1']);
        await pollUntil([c], () => c.assignment().length === 2);
      } finally {
        await c.close();
      }
    }
    await w.close();
  });
});

test('a member that stops polling for maxPollIntervalMs leaves, and rejoins at its next poll (classic and KIP-848)', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('stuck', 2);
    for (const groupProtocol of ['classic', 'consumer'] as const) {
      const lost: TopicPartition[][] = [];
      const opts: Partial<ConsumerOptions> = { groupProtocol, partitionAssignors: ['range'], maxPollIntervalMs: 800 };
      const a = groupConsumer(address, `stuck-${groupProtocol}`, { ...opts, rebalanceListener: { onPartitionsLost: (tps) => void lost.push(tps) } });
      const b = groupConsumer(address, `stuck-${groupProtocol}`, opts);
      try {
        await a.connect();
        await b.connect();
        await a.subscribe(['stuck']);
        await b.subscribe(['stuck']);
        await pollUntil([a, b], () => split([a, b], 2));
        // a stops polling; b keeps going and ends up with everything.
        await pollUntil([b], () => b.assignment().length === 2, 8000);
        assert.deepEqual(a.assignment(), []);
        assert.equal(lost.length, 1);
        await pollUntil([a, b], () => split([a, b], 2), 8000);
      } finally {
        await closeAll([a, b]);
      }
    }
    await w.close();
  });
});
