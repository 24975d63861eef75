// Requests on one connection run one at a time, as in Kafka (a coordinator request never overtakes an earlier
// one); only the data-path APIs that declare `concurrent` overlap with each other.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';

const JOIN_GROUP = 11, DESCRIBE_GROUPS = 15;

test('a coordinator request waits for the earlier one on the same connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-order-'));
  const broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'group.initial.rebalance.delay.ms': 300 } });
  try {
    const c = await RawClient.connect(broker.address);
    const join = (memberId: string) => c.send(JOIN_GROUP, 5, {
      groupId: 'ordered', sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.alloc(0) }],
    });
    const first = await join('');
    assert.equal(first.errorCode, 79); // MEMBER_ID_REQUIRED, with the id to use
    // Pipelined: the join waits out the initial rebalance delay; the describe sent right after it must see the
    // group as the join left it, not as it was while the join was waiting.
    const joined = join(first.memberId);
    const described = c.send(DESCRIBE_GROUPS, 5, { groups: ['ordered'], includeAuthorizedOperations: false });
    const [j, d] = await Promise.all([joined, described]);
    assert.equal(j.errorCode, 0);
    assert.equal(d.groups[0].groupState, 'CompletingRebalance');
    assert.equal(d.groups[0].members.length, 1);
    c.close();
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
