/**
 * The coordinators' internal topics in a cluster: a FindCoordinator that would create __consumer_offsets (or
 * __transaction_state) with more replicas than there are live brokers answers COORDINATOR_NOT_AVAILABLE (retried
 * by clients, as Kafka answers), not INVALID_REPLICATION_FACTOR; once enough brokers are up the topic is made.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { startEtcd } from '../../helpers/etcd.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const FIND_COORDINATOR = 10;

describe('internal topics with a replication factor above the live brokers', () => {
  let etcd: Awaited<ReturnType<typeof startEtcd>>;
  const brokers: RunningBroker[] = [];
  const dirs: string[] = [];
  const start = async (id: number): Promise<RunningBroker> => {
    const dir = mkdtempSync(join(tmpdir(), `tributary-coordtopics-${id}-`));
    dirs.push(dir);
    const b = await startBroker({
      port: 0, dataDir: dir, logLevel: 'silent',
      config: { 'etcd.connect': etcd.endpoint, 'node.id': id, 'offsets.topic.replication.factor': '2', 'transaction.state.log.replication.factor': '2', 'offsets.topic.num.partitions': '2', 'transaction.state.log.num.partitions': '2' },
    });
    brokers.push(b);
    return b;
  };

  before(async () => {
    etcd = await startEtcd();
  });
  after(async () => {
    for (const b of brokers) await b.close().catch(() => undefined);
    await etcd?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  test('FindCoordinator answers COORDINATOR_NOT_AVAILABLE until enough brokers are up, then the leader', async () => {
    const first = await start(1);
    const raw = await RawClient.connect(first.address);
    try {
      for (const keyType of [0, 1]) {
        const res = await raw.send(FIND_COORDINATOR, 4, { keyType, coordinatorKeys: ['k'] });
        assert.equal(res.coordinators[0].errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE, `key type ${keyType}`);
      }
      await start(2);
      const deadline = Date.now() + 15_000;
      for (;;) {
        const res = await raw.send(FIND_COORDINATOR, 4, { keyType: 0, coordinatorKeys: ['k'] });
        if (res.coordinators[0].errorCode === ErrorCode.NONE) {
          assert.ok([1, 2].includes(res.coordinators[0].nodeId));
          break;
        }
        assert.equal(res.coordinators[0].errorCode, ErrorCode.COORDINATOR_NOT_AVAILABLE);
        assert.ok(Date.now() < deadline, 'no coordinator once two brokers are up');
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      raw.close();
    }
  });
});
