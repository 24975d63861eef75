/**
 * The fetch path reads into reused buffers (handlers/fetch.ts readBuffers), returned once a response is written.
 * Three consumers read the same distinct records at once, in many responses: a buffer reused before its response
 * left would show up as records of another offset or partition.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer } from '../../../src/client/consumer.js';
import { Producer } from '../../../src/client/producer.js';
import { readBuffers } from '../../../src/server/handlers/fetch.js';
import { withBroker } from '../client/consumer-support.js';

const value = (partition: number, i: number): Buffer => Buffer.alloc(700, `p${partition}-r${i};`);

test('concurrent consumers get every record intact while fetch read buffers are reused', async () => {
  await withBroker(async (address) => {
    const producer = new Producer({ bootstrapServers: address, idempotent: false, lingerMs: 0 });
    await producer.connect();
    const perPartition = 3000;
    for (const partition of [0, 1]) {
      await producer.sendBatch(Array.from({ length: perPartition }, (_, i) => ({ topic: 'reuse', partition, value: value(partition, i) })));
    }
    await producer.close();

    const readAll = async (): Promise<void> => {
      // 64 KiB per partition: about 30 responses per partition, each read into a pooled buffer.
      const consumer = new Consumer({ bootstrapServers: address, maxPartitionFetchBytes: 64 * 1024, enableAutoCommit: false });
      await consumer.connect();
      try {
        const tps = [0, 1].map((partition) => ({ topic: 'reuse', partition }));
        consumer.assign(tps);
        await consumer.seekToBeginning(tps);
        const seen = [0, 0];
        const deadline = Date.now() + 20_000;
        while (seen[0] + seen[1] < 2 * perPartition) {
          assert.ok(Date.now() < deadline, `read ${seen.join('+')} records`);
          for (const r of await consumer.poll(200)) {
            assert.equal(r.offset, seen[r.partition], `partition ${r.partition}`);
            assert.ok(r.value!.equals(value(r.partition, r.offset)), `record ${r.partition}@${r.offset} is intact`);
            seen[r.partition]++;
          }
        }
      } finally {
        await consumer.close();
      }
    };
    await Promise.all([readAll(), readAll(), readAll()]);
    assert.ok(readBuffers.pooledBytes >= 64 * 1024, `${readBuffers.pooledBytes} bytes back in the pool`);
  });
});
