// Hostile bytes over a real socket: random frames and mutations of valid requests must only ever close that
// connection (or get an answer) — never crash the broker, never stop it serving others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import fc from 'fast-check';
import { startBroker } from '../../../src/index.js';
import { RawClient } from '../../helpers/raw-client.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';

/** Writes bytes on a fresh connection and resolves when the broker answers or closes, or after a grace period. */
function poke(address: string, bytes: Buffer): Promise<void> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect(Number(address.slice(i + 1)), address.slice(0, i));
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve();
    };
    const timer = setTimeout(done, 300);
    s.on('data', done).on('close', done).on('error', done);
    s.on('connect', () => s.end(bytes));
  });
}

test('random and mutated frames never take the broker down', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-fuzz-'));
  const broker = await startBroker({ port: 0, dataDir: dir, logLevel: (process.env.FUZZ_LOG as 'error') ?? 'silent', config: { 'num.partitions': 1 } });
  try {
    const seeds: Buffer[] = [
      RawClient.frame(18, 3, { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }, 1),
      RawClient.frame(3, 12, { topics: [{ name: 'fz', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true }, 2),
      RawClient.frame(3, 1, { topics: [{ name: 'fz' }] }, 3),
      RawClient.frame(0, 9, { acks: 1, timeoutMs: 1000, topicData: [{ name: 'fz', partitionData: [{ index: 0, records: buildRecordBatch([{ key: 'k', value: 'v' }]) }] }] }, 4),
      RawClient.frame(1, 12, { maxWaitMs: 0, minBytes: 0, maxBytes: 1000, topics: [{ topic: 'fz', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1000 }] }] }, 5),
      RawClient.frame(19, 7, { topics: [{ name: 'fz2', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 100 }, 6),
      RawClient.frame(2, 7, { replicaId: -1, topics: [{ name: 'fz', partitions: [{ partitionIndex: 0, timestamp: -1n }] }] }, 7),
    ];
    const mutated = fc.tuple(fc.constantFrom(...seeds), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.nat())
      .map(([seed, flips, cut]) => {
        const b = Buffer.from(seed);
        for (const [pos, val] of flips) if (b.length > 4) b[4 + (pos % (b.length - 4))] = val;
        // Keep the size prefix honest about what follows, so the frame reaches the decoder.
        const end = cut % 3 === 0 ? 4 + ((cut >> 2) % Math.max(1, b.length - 4)) : b.length;
        const out = b.subarray(0, end);
        if (out.length >= 4) out.writeInt32BE(out.length - 4, 0);
        return out;
      });
    const random = fc.uint8Array({ minLength: 0, maxLength: 200 }).map((a) => {
      const b = Buffer.alloc(4 + a.length);
      b.writeInt32BE(a.length, 0);
      Buffer.from(a).copy(b, 4);
      return b;
    });
    await fc.assert(fc.asyncProperty(fc.oneof(mutated, random), async (frame) => {
      await poke(broker.address, frame);
    }), { numRuns: 300, seed: 42 });
    const c = await RawClient.connect(broker.address);
    const res = await c.send(18, 3, { clientSoftwareName: 'after', clientSoftwareVersion: '1' });
    assert.equal(res.errorCode, 0);
    const md = await c.send(3, 12, { topics: null });
    assert.ok(Array.isArray(md.topics));
    c.close();
  } finally {
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
