import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer, type ConsumerRecord } from '../../../src/client/consumer.js';
import { ClientStateError, ProtocolError } from '../../../src/client/errors.js';
import { createServer, type Socket } from 'node:net';
import { Writer, pollN, str, withBroker } from './consumer-support.js';
import { Writer as FrameWriter } from '../../../src/protocol/primitives/writer.js';
import { ResponseHeader } from '../../../src/protocol/generated/response-header.js';
import { responseHeaderVersion } from '../../../src/protocol/generated/header-versions.js';
import { ApiVersionsResponse } from '../../../src/protocol/generated/api-versions-response.js';
import { MetadataResponse } from '../../../src/protocol/generated/metadata-response.js';
import { FindCoordinatorResponse } from '../../../src/protocol/generated/find-coordinator-response.js';
import type { MessageCodec } from '../../../src/protocol/primitives/codec.js';
import { CompletedFetch, endOffsetOf } from '../../../src/client/consumer/completed-fetch.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';

const byPartition = (records: ConsumerRecord[]): Map<number, string[]> => {
  const m = new Map<number, string[]>();
  for (const r of records) {
    const a = m.get(r.partition) ?? [];
    a.push(str(r.value)!);
    m.set(r.partition, a);
  }
  return m;
};

const range = (from: number, to: number, prefix = 'v'): string[] => Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);

test('manual assign reads everything from earliest, in order per partition, with keys, headers and timestamps', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('t', 3);
    for (let p = 0; p < 3; p++) await w.fill('t', p, 25, 7);
    await w.produce('t', 1, [{ key: null, value: 'with-headers', timestamp: 1_700_000_000_000, headers: [{ key: 'h1', value: Buffer.from('x') }, { key: 'h2', value: null }] }]);
    // Options passed as undefined (unset CLI flags) keep their defaults.
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', fetchMaxBytes: undefined, maxPollRecords: undefined });
    try {
      await c.connect();
      c.assign([0, 1, 2].map((partition) => ({ topic: 't', partition })));
      assert.deepEqual(c.assignment(), [0, 1, 2].map((partition) => ({ topic: 't', partition })));
      const records = await pollN(c, 76);
      const m = byPartition(records);
      assert.deepEqual(m.get(0), range(0, 25));
      assert.deepEqual(m.get(2), range(0, 25));
      assert.deepEqual(m.get(1), [...range(0, 25), 'with-headers']);
      const last = records.find((r) => str(r.value) === 'with-headers')!;
      assert.equal(last.key, null);
      assert.equal(last.offset, 25);
      assert.equal(last.timestamp, 1_700_000_000_000);
      assert.equal(last.timestampType, 'CreateTime');
      assert.deepEqual(last.headers.map((h) => [h.key, str(h.value)]), [['h1', 'x'], ['h2', null]]);
      const r0 = records.find((r) => r.partition === 0 && r.offset === 3)!;
      assert.equal(str(r0.key), 'k3');
      assert.equal(r0.topic, 't');
      assert.equal(c.position({ topic: 't', partition: 1 }), 26);
      assert.equal(c.position({ topic: 't', partition: 0 }), 25);
      assert.deepEqual(await c.poll(100), []);
    } finally {
      await c.close();
      await w.close();
    }
  });
});

test('every codec decodes, and a seek into the middle of a compressed batch skips the records before it', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('z', 5);
    for (const codec of [0, 1, 2, 3, 4] as const) await w.fill('z', codec, 30, 10, codec, `c${codec}-`);
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
    try {
      await c.connect();
      c.assign([0, 1, 2, 3, 4].map((partition) => ({ topic: 'z', partition })));
      const m = byPartition(await pollN(c, 150));
      for (const codec of [0, 1, 2, 3, 4]) assert.deepEqual(m.get(codec), range(0, 30, `c${codec}-v`), `codec ${codec}`);
      for (const codec of [0, 1, 2, 3, 4]) c.seek({ topic: 'z', partition: codec }, 15);
      const again = byPartition(await pollN(c, 75));
      for (const codec of [0, 1, 2, 3, 4]) assert.deepEqual(again.get(codec), range(15, 30, `c${codec}-v`), `codec ${codec} after seek`);
    } finally {
      await c.close();
      await w.close();
    }
  });
});

test('latest starts at the end; seekToBeginning, seekToEnd, seekToTimestamp and offsetsForTimes', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('l', 1);
    const base = 1_600_000_000_000;
    for (let i = 0; i < 10; i++) await w.produce('l', 0, [{ key: null, value: `old${i}`, timestamp: base + i * 1000 }]);
    const c = new Consumer({ bootstrapServers: address });
    const tp = { topic: 'l', partition: 0 };
    try {
      await c.connect();
      c.assign([tp]);
      assert.deepEqual(await c.poll(300), []);
      assert.equal(c.position(tp), 10);
      await w.produce('l', 0, [{ value: 'new0', timestamp: base + 20_000 }, { value: 'new1', timestamp: base + 21_000 }]);
      assert.deepEqual((await pollN(c, 2)).map((r) => str(r.value)), ['new0', 'new1']);

      await c.seekToBeginning();
      assert.equal(c.position(tp), 0);
      assert.deepEqual((await pollN(c, 12)).map((r) => str(r.value)).slice(0, 3), ['old0', 'old1', 'old2']);

      await c.seekToTimestamp(base + 4500);
      assert.equal(c.position(tp), 5);
      assert.equal(str((await pollN(c, 1))[0].value), 'old5');
      await c.seekToTimestamp(base + 99_000);
      assert.equal(c.position(tp), 12, 'past the last timestamp: the end');

      c.seek(tp, 3);
      await c.seekToEnd([tp]);
      assert.equal(c.position(tp), 12);

      const times = await c.offsetsForTimes([{ ...tp, timestamp: base + 7000 }, { ...tp, timestamp: base + 500_000 }]);
      assert.deepEqual(times, [{ ...tp, offset: 7, timestamp: base + 7000 }, { ...tp, offset: -1, timestamp: -1 }]);
    } finally {
      await c.close();
      await w.close();
    }
  });
});

test('maxPollRecords bounds each poll; the iterator and batches() yield everything', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('m', 2);
    await w.fill('m', 0, 40, 20);
    await w.fill('m', 1, 40, 20);
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', maxPollRecords: 7 });
    try {
      await c.connect();
      c.assign([{ topic: 'm', partition: 0 }, { topic: 'm', partition: 1 }]);
      let total = 0;
      while (total < 80) {
        const batch = await c.poll(2000);
        assert.ok(batch.length > 0 && batch.length <= 7, `batch of ${batch.length}`);
        total += batch.length;
      }
      assert.equal(total, 80);

      await c.seekToBeginning();
      const seen: ConsumerRecord[] = [];
      for await (const r of c) {
        seen.push(r);
        if (seen.length === 80) break;
      }
      assert.deepEqual(byPartition(seen).get(1), range(0, 40));

      await c.seekToBeginning();
      let n = 0;
      for await (const batch of c.batches()) {
        assert.ok(batch.length <= 7);
        n += batch.length;
        if (n === 80) break;
      }
      assert.equal(n, 80);
    } finally {
      await c.close();
      await w.close();
    }
  });
});

test('paused partitions are not returned (their buffered records are kept) until resumed', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('p', 2);
    await w.fill('p', 0, 10);
    await w.fill('p', 1, 10);
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', maxPollRecords: 5 });
    const p0 = { topic: 'p', partition: 0 };
    const p1 = { topic: 'p', partition: 1 };
    try {
      await c.connect();
      c.assign([p0, p1]);
      // Let both partitions buffer data, then pause one.
      const first = await pollN(c, 1);
      c.pause([first[0].partition === 0 ? p0 : p1]);
      const paused = first[0].partition;
      assert.deepEqual(c.paused(), [{ topic: 'p', partition: paused }]);
      const before = c.position({ topic: 'p', partition: paused });
      const other: ConsumerRecord[] = [];
      const deadline = Date.now() + 5000;
      while (other.length < 10 && Date.now() < deadline) other.push(...(await c.poll(200)));
      assert.equal(other.length, 10);
      assert.ok(other.every((r) => r.partition !== paused));
      assert.deepEqual(await c.poll(200), []);
      assert.equal(c.position({ topic: 'p', partition: paused }), before);
      c.resume([{ topic: 'p', partition: paused }]);
      const rest = await pollN(c, 10 - before!);
      assert.ok(rest.every((r) => r.partition === paused));
      assert.equal(rest[0].offset, before);
    } finally {
      await c.close();
      await w.close();
    }
  });
});

test('read_committed drops records of aborted transactions; read_uncommitted sees them; neither sees markers', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('tx', 1);
    await w.produce('tx', 0, [{ value: 'plain0' }]);
    await w.transaction('txn-a', 'tx', 0, [[{ value: 'committed0' }, { value: 'committed1' }]], true);
    await w.transaction('txn-b', 'tx', 0, [[{ value: 'aborted0' }], [{ value: 'aborted1' }, { value: 'aborted2' }]], false);
    await w.produce('tx', 0, [{ value: 'plain1' }]);
    await w.transaction('txn-b', 'tx', 0, [[{ value: 'committed2' }]], true);
    await w.transaction('txn-a', 'tx', 0, [[{ value: 'aborted3' }]], false);
    await w.produce('tx', 0, [{ value: 'plain2' }]);
    const expectCommitted = ['plain0', 'committed0', 'committed1', 'plain1', 'committed2', 'plain2'];
    const all = ['plain0', 'committed0', 'committed1', 'aborted0', 'aborted1', 'aborted2', 'plain1', 'committed2', 'aborted3', 'plain2'];
    for (const [isolationLevel, expected] of [['read_committed', expectCommitted], ['read_uncommitted', all]] as const) {
      const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', isolationLevel });
      try {
        await c.connect();
        c.assign([{ topic: 'tx', partition: 0 }]);
        const got = await pollN(c, expected.length);
        assert.deepEqual(got.map((r) => str(r.value)), expected, isolationLevel);
        assert.deepEqual(await c.poll(200), []);
        // The position moved past the final records (and any trailing marker).
        assert.equal(c.position({ topic: 'tx', partition: 0 }), got[got.length - 1].offset + 1);
      } finally {
        await c.close();
      }
    }
    await w.close();
  });
});

test('OFFSET_OUT_OF_RANGE resets with autoOffsetReset, and is thrown to the caller with "none"', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('o', 1);
    await w.fill('o', 0, 5);
    const tp = { topic: 'o', partition: 0 };
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
    const strict = new Consumer({ bootstrapServers: address, autoOffsetReset: 'none' });
    try {
      await c.connect();
      c.assign([tp]);
      c.seek(tp, 1000);
      const got = await pollN(c, 5);
      assert.deepEqual(got.map((r) => r.offset), [0, 1, 2, 3, 4]);

      await strict.connect();
      strict.assign([tp]);
      await assert.rejects(strict.poll(2000), (err: unknown) => err instanceof ClientStateError && /no committed offset/.test((err as Error).message));
      strict.seek(tp, 1000);
      await assert.rejects(async () => {
        for (let i = 0; i < 20; i++) await strict.poll(200);
      }, (err: unknown) => err instanceof ProtocolError && err.kafkaError === 'OFFSET_OUT_OF_RANGE');
      strict.seek(tp, 2);
      assert.deepEqual((await pollN(strict, 3)).map((r) => r.offset), [2, 3, 4]);
    } finally {
      await c.close();
      await strict.close();
      await w.close();
    }
  });
});

test('manual commit with a groupId: committed() reads it back and a new consumer starts there', async () => {
  await withBroker(async (address) => {
    const w = await Writer.open(address);
    await w.createTopic('mc', 1);
    await w.fill('mc', 0, 10);
    const tp = { topic: 'mc', partition: 0 };
    const c = new Consumer({ bootstrapServers: address, groupId: 'manual', autoOffsetReset: 'earliest', enableAutoCommit: false });
    try {
      await c.connect();
      c.assign([tp]);
      assert.deepEqual(await c.committed([tp]), [{ ...tp, offset: -1, metadata: null }]);
      await pollN(c, 10);
      await c.commit();
      assert.deepEqual(await c.committed([tp]), [{ ...tp, offset: 10, metadata: '' }]);
      await c.commit([{ ...tp, offset: 4, metadata: 'meta' }]);
      assert.deepEqual(await c.committed([tp]), [{ ...tp, offset: 4, metadata: 'meta' }]);
    } finally {
      await c.close();
    }
    const d = new Consumer({ bootstrapServers: address, groupId: 'manual', enableAutoCommit: false });
    try {
      await d.connect();
      d.assign([tp]);
      assert.deepEqual((await pollN(d, 6)).map((r) => r.offset), [4, 5, 6, 7, 8, 9]);
      assert.throws(() => d.seek({ topic: 'mc', partition: 9 }, 0), ClientStateError);
      await assert.rejects(d.subscribe(['mc']), ClientStateError);
    } finally {
      await d.close();
      await w.close();
    }
  });
});

/**
 * A stand-in broker that speaks only ApiVersions, Metadata and FindCoordinator, like a broker without
 * KIP-848: the consumer must refuse groupProtocol 'consumer' with advice rather than hang.
 */
async function withOldBroker(fn: (address: string) => Promise<void>): Promise<void> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const frame = buf.subarray(4, 4 + buf.readInt32BE(0));
        buf = buf.subarray(4 + frame.length);
        const apiKey = frame.readInt16BE(0);
        const version = frame.readInt16BE(2);
        const correlationId = frame.readInt32BE(4);
        const { port } = server.address() as { port: number };
        const reply = <T>(codec: MessageCodec<any, T>, body: T): void => {
          const w = new FrameWriter();
          const size = w.reserveInt32();
          ResponseHeader.encode(w, responseHeaderVersion(apiKey, version), { correlationId });
          codec.encode(w, version, body);
          w.fillInt32(size, w.length - 4);
          socket.write(w.toBuffer());
        };
        if (apiKey === 18) {
          reply(ApiVersionsResponse, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }, { apiKey: 3, minVersion: 0, maxVersion: 12 }, { apiKey: 10, minVersion: 0, maxVersion: 4 }] });
        } else if (apiKey === 3) {
          reply(MetadataResponse, { brokers: [{ nodeId: 1, host: '127.0.0.1', port, rack: null }], clusterId: 'old', controllerId: 1, topics: [] });
        } else if (apiKey === 10) {
          reply(FindCoordinatorResponse, { coordinators: [{ key: 'g', nodeId: 1, host: '127.0.0.1', port, errorCode: 0, errorMessage: null }] });
        } else {
          socket.destroy();
        }
      }
    });
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`127.0.0.1:${(server.address() as { port: number }).port}`);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

test("groupProtocol 'consumer' against a broker without ConsumerGroupHeartbeat fails with advice to use 'classic'", async () => {
  await withOldBroker(async (address) => {
    const c = new Consumer({ bootstrapServers: address, groupId: 'g', groupProtocol: 'consumer' });
    try {
      await c.connect();
      await assert.rejects(c.subscribe(['t']), (err: unknown) => err instanceof ClientStateError && /groupProtocol 'classic'/.test((err as Error).message));
    } finally {
      await c.close();
    }
  });
});

test('decoding: a batch torn by the fetch size limit is left for the next fetch; records below the position are skipped', () => {
  const first = buildRecordBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }], { baseOffset: 10, compression: 1 });
  const second = buildRecordBatch([{ value: 'd' }, { value: 'e' }], { baseOffset: 13 });
  const torn = Buffer.concat([first, second.subarray(0, second.length - 3)]);
  assert.equal(endOffsetOf(torn), 13);
  assert.equal(endOffsetOf(Buffer.concat([first, second])), 15);
  const cf = new CompletedFetch('t', 0, torn, 11, 13, null, false);
  const out: ConsumerRecord[] = [];
  assert.equal(cf.take(1, 11, out), 1);
  assert.equal(cf.exhausted, false);
  assert.equal(cf.take(10, 12, out), 1);
  assert.deepEqual(out.map((r) => [r.offset, str(r.value)]), [[11, 'b'], [12, 'c']]);
  assert.equal(cf.take(10, 13, out), 0);
  assert.equal(cf.exhausted, true);
  assert.equal(cf.nextOffset, 13);
});

test('fetches in a KIP-227 session: incremental fetches name only moved partitions; a lost session is replaced; close ends it', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-consumer-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
  const sessions = broker.context.fetchSessions;
  const PARTITIONS = 40;
  const w = await Writer.open(broker.address);
  const c = new Consumer({ bootstrapServers: broker.address, fetchMaxWaitMs: 50 });
  try {
    await w.createTopic('wide', PARTITIONS);
    await c.connect();
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 'wide', partition }));
    c.assign(tps);
    await c.seekToBeginning(tps);
    const seen: ConsumerRecord[] = [];
    // Round r writes two records to partitions r and r + 20; every round is read once, in order.
    for (let round = 0; round < 6; round++) {
      for (const p of [round, round + 20]) await w.produce('wide', p, [{ key: null, value: `r${round}p${p}a` }, { key: null, value: `r${round}p${p}b` }]);
      seen.push(...(await pollN(c, 4)));
      if (round === 3) {
        // The broker loses the session (evicted, or restarted): FETCH_SESSION_ID_NOT_FOUND, then a new full session.
        assert.equal(sessions.size, 1);
        sessions.remove(sessions.ids()[0]!);
      }
    }
    assert.deepEqual(byPartition(seen), new Map(Array.from({ length: 6 }, (_, r) => [[r, [`r${r}p${r}a`, `r${r}p${r}b`]], [r + 20, [`r${r}p${r + 20}a`, `r${r}p${r + 20}b`]]] as const).flat()));
    // One session, holding every assigned partition, at an epoch the consumer's incremental fetches moved on.
    assert.equal(sessions.size, 1);
    const session = sessions.peek(sessions.ids()[0]!)!;
    assert.ok(session.nextEpoch > 2, `epoch ${session.nextEpoch}`);
    const held = [...session.partitions.values()].filter((e) => e.topic === 'wide');
    assert.ok(held.length >= PARTITIONS - 2, `${held.length} partitions in the session`);
    // Partitions never written are held at 0; written ones at 0 or 2 (the next fetch may not have sent it yet).
    for (const e of held) assert.ok(e.partition % 20 < 6 ? e.fetchOffset <= 2 : e.fetchOffset === 0, `partition ${e.partition} at ${e.fetchOffset}`);
    await c.close();
    assert.equal(sessions.size, 0);
  } finally {
    await c.close();
    await w.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
