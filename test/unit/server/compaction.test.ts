/**
 * Compaction through the broker: keyless records refused on compacted topics (Kafka's RecordErrors), and
 * __consumer_offsets cleaned in the background so a restart replays live state, not history.
 * COMPACTION_COMMITS sets the number of offset commits (default 20,000; the figure is 1,000,000).
 */
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch, decodeRecordBatch, iterateBatches } from '../../../src/protocol/records/record.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

const PRODUCE = 0, OFFSET_COMMIT = 8, OFFSET_FETCH = 9, CREATE_TOPICS = 19, DELETE_GROUPS = 42;
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function freshDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'tributary-compaction-test-'));
  dirs.push(d);
  return d;
}

async function createTopic(c: RawClient, name: string, partitions: number, configs: Array<{ name: string; value: string }> = []): Promise<void> {
  const res = await c.send(CREATE_TOPICS, 5, { topics: [{ name, numPartitions: partitions, replicationFactor: -1, assignments: [], configs }], timeoutMs: 5000, validateOnly: false });
  assert.equal(res.topics[0].errorCode, ErrorCode.NONE);
}

/** A logger whose JSON lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger: Logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('compaction through the broker', () => {
  test('a compacted topic refuses keyless records with INVALID_RECORD and one RecordError per record (compressed too)', async () => {
    const broker = await startBroker({ port: 0, dataDir: freshDir(), logLevel: 'silent' });
    const c = await RawClient.connect(broker.address);
    try {
      await createTopic(c, 'compacted', 1, [{ name: 'cleanup.policy', value: 'compact' }]);
      await createTopic(c, 'plain', 1);
      const produce = async (topic: string, batch: Buffer, version = 9): Promise<any> => {
        const res = await c.send(PRODUCE, version, { acks: -1, timeoutMs: 5000, transactionalId: null, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
        return res.responses[0].partitionResponses[0];
      };
      for (const compression of [0, 1, 4] as const) {
        const batch = buildRecordBatch([{ key: 'a', value: '1' }, { key: null, value: '2' }, { key: 'c', value: '3' }, { key: null, value: '4' }], { compression });
        const r = await produce('compacted', batch);
        assert.equal(r.errorCode, ErrorCode.INVALID_RECORD, `codec ${compression}`);
        assert.deepEqual(r.recordErrors.map((e: any) => e.batchIndex), [1, 3]);
        assert.equal(r.recordErrors[0].batchIndexErrorMessage, 'Compacted topic cannot accept message without key in topic partition compacted-0.');
        assert.match(r.errorMessage, /One or more records have been rejected due to 2 record errors/);
      }
      const v7 = await produce('compacted', buildRecordBatch([{ key: null, value: 'x' }]), 7);
      assert.equal(v7.errorCode, ErrorCode.INVALID_RECORD, 'older versions get the error code without RecordErrors');
      const ok = await produce('compacted', buildRecordBatch([{ key: 'k', value: 'x' }, { key: 'k', value: null }]));
      assert.deepEqual([ok.errorCode, ok.baseOffset], [ErrorCode.NONE, 0n], 'keyed records (and tombstones) are accepted');
      assert.equal((await produce('plain', buildRecordBatch([{ key: null, value: 'x' }]))).errorCode, ErrorCode.NONE);
    } finally {
      c.close();
      await broker.close();
    }
  });

  test('__consumer_offsets is compacted in the background: a restart replays live offsets, not every commit', async () => {
    const COMMITS = Number(process.env.COMPACTION_COMMITS ?? 20_000);
    const GROUPS = 4;
    const PARTITIONS = 50;
    const dataDir = freshDir();
    const config = {
      'offsets.topic.num.partitions': '1',
      'offsets.topic.segment.bytes': '65536',
      'log.cleaner.backoff.ms': '50',
    };
    let broker: RunningBroker = await startBroker({ port: 0, dataDir, logLevel: 'silent', config });
    const clients = await Promise.all(Array.from({ length: GROUPS }, () => RawClient.connect(broker.address)));
    const requests = Math.ceil(COMMITS / PARTITIONS / GROUPS);
    let written: number;
    let commitMs: number;
    try {
      await createTopic(clients[0]!, 'events', PARTITIONS);
      const started = Date.now();
      await Promise.all(clients.map(async (c, g) => {
        for (let i = 0; i < requests; i++) {
          const res = await c.send(OFFSET_COMMIT, 8, {
            groupId: `g${g}`, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
            topics: [{ name: 'events', partitions: Array.from({ length: PARTITIONS }, (_, p) => ({ partitionIndex: p, committedOffset: BigInt(i * 1000 + p), committedLeaderEpoch: -1, committedMetadata: '' })) }],
          });
          assert.equal(res.topics[0].partitions[0].errorCode, ErrorCode.NONE);
        }
      }));
      commitMs = Date.now() - started;
      const offsetsLog = broker.context.topics.log('__consumer_offsets', 0);
      written = offsetsLog.logEndOffset;
      assert.ok(written >= COMMITS);
      // The cleaner runs in the background; wait (bounded) until the segments below the active one hold about
      // one record per key (~50 bytes each; an uncleaned segment is 64 KiB).
      const inactiveBytes = (): number => offsetsLog.segmentList().slice(0, -1).reduce((n, seg) => n + seg.size, 0);
      const bound = GROUPS * PARTITIONS * 100;
      for (let i = 0; i < 400 && inactiveBytes() > bound; i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(inactiveBytes() <= bound, `cleaned: ${inactiveBytes()} bytes below the active segment`);
    } finally {
      for (const c of clients) c.close();
      await broker.close();
    }

    const { logger, lines } = capturingLogger();
    const restartAt = Date.now();
    broker = await startBroker({ port: 0, dataDir, logger, config });
    const restartMs = Date.now() - restartAt;
    try {
      const loaded = lines.filter((l) => l.msg === 'coordinator state loaded').map((l) => Number(l.records));
      const replayed = loaded.reduce((a, b) => a + b, 0);
      assert.ok(replayed > 0 && replayed < written / 5, `replayed ${replayed} of ${written} records`);
      const c = await RawClient.connect(broker.address);
      try {
        for (let g = 0; g < GROUPS; g++) {
          const f = await c.send(OFFSET_FETCH, 7, { groupId: `g${g}`, topics: [{ name: 'events', partitionIndexes: Array.from({ length: PARTITIONS }, (_, p) => p) }], requireStable: false });
          assert.deepEqual(f.topics[0].partitions.map((p: any) => p.committedOffset), Array.from({ length: PARTITIONS }, (_, p) => BigInt((requests - 1) * 1000 + p)));
        }
      } finally {
        c.close();
      }
      if (process.env.COMPACTION_COMMITS) console.log(JSON.stringify({ commits: written, commitMs, replayed, restartMs }));
    } finally {
      await broker.close();
    }
  });

  test('a deleted group leaves nothing in __consumer_offsets once its tombstones are past delete.retention.ms', async () => {
    const broker = await startBroker({
      port: 0, dataDir: freshDir(), logLevel: 'silent',
      config: { 'offsets.topic.num.partitions': '1', 'offsets.topic.segment.bytes': '16384', 'log.cleaner.backoff.ms': '20', 'log.cleaner.delete.retention.ms': '0' },
    });
    const c = await RawClient.connect(broker.address);
    try {
      await createTopic(c, 'events', 10);
      const commit = async (groupId: string, offset: number): Promise<void> => {
        const res = await c.send(OFFSET_COMMIT, 8, {
          groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1n,
          topics: [{ name: 'events', partitions: Array.from({ length: 10 }, (_, p) => ({ partitionIndex: p, committedOffset: BigInt(offset), committedLeaderEpoch: -1, committedMetadata: '' })) }],
        });
        assert.equal(res.topics[0].partitions[0].errorCode, ErrorCode.NONE);
      };
      for (let i = 0; i < 20; i++) await commit('doomed', i);
      assert.equal((await c.send(DELETE_GROUPS, 2, { groupsNames: ['doomed'] })).results[0].errorCode, ErrorCode.NONE);
      const log = broker.context.topics.log('__consumer_offsets', 0);
      const doomedRecords = (): number => {
        let n = 0;
        let offset = log.logStartOffset;
        while (offset < log.logEndOffset) {
          const buf = log.read(offset, 1 << 20, true);
          if (buf.length === 0) break;
          for (const { pos, header } of iterateBatches(buf)) {
            offset = header.baseOffset + header.lastOffsetDelta + 1;
            for (const r of decodeRecordBatch(buf, pos).records) if (r.key?.includes('doomed')) n++;
          }
        }
        return n;
      };
      assert.ok(doomedRecords() >= 200);
      // Other traffic rolls segments, so passes run: the first keeps the tombstones (stamping their horizon),
      // a later one drops them along with everything they deleted.
      for (let i = 0; i < 300 && doomedRecords() > 0; i++) await commit('live', i);
      assert.equal(doomedRecords(), 0);
      const f = await c.send(OFFSET_FETCH, 7, { groupId: 'doomed', topics: [{ name: 'events', partitionIndexes: [0] }], requireStable: false });
      assert.equal(f.topics[0].partitions[0].committedOffset, -1n);
    } finally {
      c.close();
      await broker.close();
    }
  });
});
