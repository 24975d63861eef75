import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';

test('a consumer over consumer_byte_rate is held within 10 % of it (throttled fetches carry no data)', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-fetch-quota-'));
  // Five 1 s samples: four seconds' worth of burst, then the steady rate.
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'quota.window.num': '5', 'quota.window.size.seconds': '1' } });
  const admin = new Admin({ bootstrapServers: broker.address, retries: 1 });
  const consumer = new Consumer({ bootstrapServers: broker.address, clientId: 'slow-reader', autoOffsetReset: 'earliest', maxPartitionFetchBytes: 32_768 });
  try {
    await admin.connect();
    await admin.createTopics([{ name: 'q-fetch', numPartitions: 1 }]);
    // Batches of at most 32 kB: one batch is returned whole (KIP-74) even when it exceeds the quota window's bytes.
    const producer = new Producer({ bootstrapServers: broker.address, clientId: 'filler', acks: 1, maxRequestSize: 32_768 });
    await producer.connect();
    const value = Buffer.alloc(2000, 3);
    await Promise.all(Array.from({ length: 750 }, () => producer.send({ topic: 'q-fetch', value }))); // 1.5 MB
    await producer.close();

    const quota = 100_000;
    await admin.alterClientQuotas([{ entity: { 'client-id': 'slow-reader' }, ops: [{ key: 'consumer_byte_rate', value: quota }] }]);
    await consumer.connect();
    consumer.assign([{ topic: 'q-fetch', partition: 0 }]);
    const start = Date.now();
    const durationMs = 9000;
    const got: number[] = [];
    while (Date.now() - start < durationMs) {
      for (const r of await consumer.poll(200)) {
        if (Date.now() - start < durationMs) got.push(Date.now() - start);
        assert.equal(r.value?.length, value.length);
      }
    }
    const from = 4000;
    const rate = (got.filter((t) => t >= from).length * value.length) / ((durationMs - from) / 1000);
    console.log(`consumer achieved ${Math.round(rate)} B/s between ${from} and ${durationMs} ms (quota ${quota}); ${got.length} records in all`);
    assert.ok(Math.abs(rate - quota) <= quota * 0.1, `achieved ${Math.round(rate)} B/s, quota ${quota}`);
  } finally {
    await consumer.close().catch(() => undefined);
    await admin.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
