/** Sources into topics through the source runtime against an in-process broker, read back with the Consumer. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Admin } from '../../../src/client/admin.js';
import { Consumer } from '../../../src/client/consumer.js';
import { parseConfig } from '../../../src/connect/config.js';
import { runPipelines } from '../../../src/connect/runtime.js';
import { runSourcePipeline } from '../../../src/connect/source-runtime.js';
import { loadSourceOffsets } from '../../../src/connect/source-offsets.js';
import { HttpSource } from '../../../src/connect/sources/http.js';
import type { PipelineConfig, SourceConnector, SourceRecord } from '../../../src/connect/types.js';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';

interface Got {
  key: string | null;
  value: unknown;
  partition: number;
}

/** Every record of a topic (3 partitions), once `count` have arrived; fails after 10 s. */
async function readTopic(address: string, topic: string, count: number): Promise<Got[]> {
  const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
  try {
    await c.connect();
    c.assign([0, 1, 2].map((partition) => ({ topic, partition })));
    const out: Got[] = [];
    const deadline = Date.now() + 10_000;
    while (out.length < count) {
      if (Date.now() > deadline) throw new Error(`only ${out.length} of ${count} records in ${topic}`);
      for (const r of await c.poll(500)) out.push({ key: r.key?.toString() ?? null, value: JSON.parse(r.value!.toString()), partition: r.partition });
    }
    return out;
  } finally {
    await c.close();
  }
}

/** Every record of a topic up to its end now (read_committed), however many. */
async function readAll(address: string, topic: string): Promise<Got[]> {
  const admin = new Admin({ bootstrapServers: address });
  const { partitions } = (await admin.describeTopics([topic]))[0];
  const tps = partitions.map((p) => ({ topic, partition: p.partition }));
  const ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel: 'read_committed' });
  await admin.close();
  const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
  try {
    await c.connect();
    c.assign(tps);
    const out: Got[] = [];
    const deadline = Date.now() + 10_000;
    while (ends.some((e) => (c.position(e) ?? 0) < e.offset)) {
      if (Date.now() > deadline) throw new Error(`could not read ${topic} to its end`);
      for (const r of await c.poll(200)) out.push({ key: r.key?.toString() ?? null, value: JSON.parse(r.value!.toString()), partition: r.partition });
    }
    return out;
  } finally {
    await c.close();
  }
}

/** A writable stand-in for stderr that keeps what was written. */
function captureStream(): NodeJS.WriteStream & { text: string } {
  const s = { text: '', isTTY: false, write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('source runtime', () => {
  let address: string;
  let broker: TestBroker;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-connect-in-'));
    // No initial rebalance delay: a one-member group gets its assignment at once.
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    address = broker.address;
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const pipeline = (raw: object): PipelineConfig => parseConfig({ pipelines: [raw] }, dir).pipelines[0];

  test('gzipped CSV with quotes, newlines in quotes, inferred and declared types → topic, keyed by the key column', async () => {
    const csv = 'id,name,age,joined,note\r\n1,"Smith, Ann",31,2024-01-02,"two\r\nlines"\r\n2,Bo,x,2024-01-03T10:00:00Z,"say ""hi"""\r\n3,Cy,40,2024-01-04,\r\n';
    await writeFile(join(dir, 'people.csv.gz'), gzipSync(csv));
    const err = captureStream();
    const p = pipeline({ name: 'people-in', topic: 'people', source: { type: 'csv', path: 'people.csv.gz', keyColumn: 'id', columns: { age: 'int' } } });
    const result = await runSourcePipeline(p, { bootstrapServers: address }, { stream: err });
    assert.equal(result.records, 3);
    assert.match(err.text, /^people-in: produced 3 records to people in \d+\.\d\d s/m);
    const got = (await readTopic(address, 'people', 3)).sort((a, b) => Number(a.key) - Number(b.key));
    assert.deepEqual(got.map((g) => g.key), ['1', '2', '3']);
    assert.deepEqual(got[0].value, { id: 1, name: 'Smith, Ann', age: 31, joined: '2024-01-02T00:00:00.000Z', note: 'two\r\nlines' });
    assert.deepEqual(got[1].value, { id: 2, name: 'Bo', age: 'x', joined: '2024-01-03T10:00:00.000Z', note: 'say "hi"' });
    assert.deepEqual(got[2].value, { id: 3, name: 'Cy', age: 40, joined: '2024-01-04T00:00:00.000Z', note: '' });
  });

  test('a CSV of many read chunks, at-least-once and exactly-once: every record once, the whole file stored as read', async () => {
    const rows = 6000; // ~300 KB: five 64 KiB chunks, so several batches and chunks of sends
    const lines = ['id,name,city,event_time'];
    for (let i = 1; i <= rows; i++) lines.push(`${i},"name ${i}, ${'x'.repeat(i % 30)}",${i % 2 === 0 ? 'Paris' : '"New\nYork"'},${new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString()}`);
    await writeFile(join(dir, 'many.csv'), `${lines.join('\n')}\n`);
    for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
      const topic = `many-${guarantee}`;
      const p = pipeline({ name: `many-${guarantee}`, topic, source: { type: 'csv', path: 'many.csv', keyColumn: 'id', guarantee } });
      const result = await runSourcePipeline(p, { bootstrapServers: address }, { stream: captureStream() });
      assert.equal(result.records, rows);
      assert.ok(result.bytes > rows * 60, `${result.bytes} bytes`);
      const got = await readAll(address, topic);
      assert.equal(got.length, rows);
      const ids = got.map((g) => Number(g.key));
      assert.deepEqual([...new Set(ids)].length, rows);
      // In order within each partition.
      for (const part of [0, 1, 2]) {
        const inPart = got.filter((g) => g.partition === part).map((g) => Number(g.key));
        assert.deepEqual(inPart, [...inPart].sort((a, b) => a - b));
      }
      assert.deepEqual(got.find((g) => g.key === '7')!.value, { id: 7, name: `name 7, ${'x'.repeat(7)}`, city: 'New\nYork', event_time: '2024-01-01T00:00:07.000Z' });
      const offsets = (await loadSourceOffsets({ bootstrapServers: address }, [p.name])).get(p.name)!;
      const stored = offsets.offset({ path: join(dir, 'many.csv') })!;
      assert.equal(stored.position, rows);
      assert.equal(stored.eof, true);
      const err = captureStream();
      assert.equal((await runSourcePipeline(p, { bootstrapServers: address }, { stream: err })).records, 0);
      assert.match(err.text, /all 6000 records were produced by an earlier run and the file is unchanged/);
    }
  });

  test('a connector with batches: the runtime takes them (not records()); offsets stored per chunk, resumed after', async () => {
    const partition = { path: '/virtual/input' };
    let fromBatches = 0;
    const connector = (total: number): SourceConnector => ({
      name: 'batched',
      records() {
        throw new Error('records() called although batches() is there');
      },
      async *batches(context) {
        const start = context?.offset(partition)?.position ?? 0;
        for (let b = start / 100; b < total / 100; b++) {
          yield Array.from({ length: 100 }, (_, i): SourceRecord => {
            fromBatches++;
            const n = b * 100 + i + 1;
            return { key: String(n), value: { n }, sourcePartition: partition, sourceOffset: { position: n } };
          });
        }
      },
      async stop() {},
    });
    const p = pipeline({ name: 'batched-in', topic: 'batched', source: { type: 'jsonl', path: '/virtual/input' } });
    const r = await runSourcePipeline(p, { bootstrapServers: address }, { connector: connector(5000), stream: captureStream() });
    assert.equal(r.records, 5000);
    assert.equal(fromBatches, 5000);
    const stored = (await loadSourceOffsets({ bootstrapServers: address }, [p.name])).get(p.name)!.offset(partition)!;
    assert.equal(stored.position, 5000);
    // The input grew: the next run starts after the stored position.
    const again = await runSourcePipeline(p, { bootstrapServers: address }, { connector: connector(6000), stream: captureStream() });
    assert.equal(again.records, 1000);
    const got = await readAll(address, 'batched');
    assert.deepEqual(got.map((g) => (g.value as { n: number }).n).sort((a, b) => a - b), Array.from({ length: 6000 }, (_, i) => i + 1));
  });

  test('jsonl with skipBadLines: good lines produced, the bad counted in the summary', async () => {
    await writeFile(join(dir, 'ev.jsonl'), '{"k":"a","n":1}\nnot json\n{"k":"b","n":2}\n');
    const err = captureStream();
    const p = pipeline({ name: 'ev-in', topic: 'ev', source: { type: 'jsonl', path: 'ev.jsonl', keyColumn: 'k', skipBadLines: true } });
    const r = await runSourcePipeline(p, { bootstrapServers: address }, { stream: err });
    assert.deepEqual([r.records, r.skipped], [2, 1]);
    assert.match(err.text, /skipped 1 bad lines/);
    const got = (await readTopic(address, 'ev', 2)).sort((a, b) => (a.key! < b.key! ? -1 : 1));
    assert.deepEqual(got.map((g) => [g.key, g.value]), [['a', { k: 'a', n: 1 }], ['b', { k: 'b', n: 2 }]]);
  });

  test('a bad jsonl line fails the run with an error naming the pipeline and the line', async () => {
    await writeFile(join(dir, 'bad.jsonl'), '{"n":1}\n{oops\n');
    const p = pipeline({ name: 'bad-in', topic: 'bad', source: { type: 'jsonl', path: 'bad.jsonl' } });
    await assert.rejects(runSourcePipeline(p, { bootstrapServers: address }, { stream: captureStream() }), /pipeline "bad-in": .*bad\.jsonl line 2: not valid JSON/);
  });

  test('HTTP: 202 comes after the records are in the topic; stop ends the run cleanly', async () => {
    const p = pipeline({ name: 'http-in', topic: 'clicks', source: { type: 'http', port: 0, keyColumn: 'user' } });
    const src = new HttpSource(p.name, p.source as never);
    await src.start();
    const stop = new AbortController();
    const err = captureStream();
    const run = runSourcePipeline(p, { bootstrapServers: address }, { signal: stop.signal, connector: src, stream: err });
    const url = `http://127.0.0.1:${src.port}/events`;
    const one = await fetch(url, { method: 'POST', body: JSON.stringify({ user: 'u1', page: '/' }) });
    assert.equal(one.status, 202);
    assert.deepEqual(await one.json(), { accepted: 1 });
    const many = await fetch(url, { method: 'POST', body: JSON.stringify([{ user: 'u2' }, { user: 'u3' }]) });
    assert.deepEqual([many.status, await many.json()], [202, { accepted: 2 }]);
    // Acknowledged means readable now.
    const got = await readTopic(address, 'clicks', 3);
    assert.deepEqual(got.map((g) => g.key).sort(), ['u1', 'u2', 'u3']);
    stop.abort();
    const result = await run;
    assert.equal(result.records, 3);
    assert.equal(result.stopped, true);
    assert.match(err.text, new RegExp(`^http-in: listening on ${url.replace(/[.]/g, '\\.')} \\(POST a JSON object or an array of them\\)$`, 'm'));
  });

  test('runPipelines runs a directory pipeline until stopped and a file pipeline to its end, together', async () => {
    const inbox = await mkdtemp(join(dir, 'inbox-'));
    await writeFile(join(inbox, '1.jsonl'), '{"n":1}\n');
    await writeFile(join(dir, 'once.csv'), 'n\n10\n');
    const config = parseConfig(
      {
        pipelines: [
          { name: 'dir-in', topic: 'dir', source: { type: 'directory', path: inbox, pattern: '*.jsonl', pollMs: 50 } },
          { name: 'file-in', topic: 'file', source: { type: 'csv', path: 'once.csv' } },
        ],
      },
      dir,
    );
    const stop = new AbortController();
    const run = runPipelines(config, { bootstrapServers: address }, { signal: stop.signal, stream: captureStream() });
    assert.deepEqual((await readTopic(address, 'file', 1)).map((g) => g.value), [{ n: 10 }]);
    await writeFile(join(inbox, '2.jsonl'), '{"n":2}\n');
    const got = await readTopic(address, 'dir', 2);
    assert.deepEqual(got.map((g) => g.value).sort((a, b) => (a as { n: number }).n - (b as { n: number }).n), [{ n: 1 }, { n: 2 }]);
    stop.abort();
    const results = await run;
    assert.deepEqual(results.map((r) => [r.pipeline, r.source?.records]), [['dir-in', 2], ['file-in', 1]]);
  });

  test('jsonl and directory pipelines run twice: the second run produces nothing new, no duplicates', async () => {
    await writeFile(join(dir, 'twice.jsonl'), '{"n":1}\n{"n":2}\n');
    const inbox = await mkdtemp(join(dir, 'twice-dir-'));
    await writeFile(join(inbox, 'a.jsonl'), '{"n":3}\n');
    await writeFile(join(inbox, 'b.jsonl'), '{"n":4}\n{"n":5}\n');
    const config = parseConfig(
      {
        pipelines: [
          { name: 'twice-file', topic: 'twice-rt', source: { type: 'jsonl', path: 'twice.jsonl' } },
          { name: 'twice-dir', topic: 'twice-rt', source: { type: 'directory', path: inbox, pattern: '*.jsonl', pollMs: 50, guarantee: 'exactly-once' } },
        ],
      },
      dir,
    );
    /** The directory pipeline runs until stopped: it is stopped once `done(text)` holds for what the run printed. */
    const runOnce = async (done: (text: string) => boolean, ready?: () => Promise<unknown>): Promise<{ records: Array<[string, number | undefined]>; text: string }> => {
      const stop = new AbortController();
      const err = captureStream();
      const run = runPipelines(config, { bootstrapServers: address }, { signal: stop.signal, stream: err });
      for (let i = 0; i < 200 && !done(err.text); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(done(err.text), err.text);
      await ready?.();
      await new Promise((resolve) => setTimeout(resolve, 200)); // time for anything else it would produce
      stop.abort();
      const records = (await run).map((r): [string, number | undefined] => [r.pipeline, r.source?.records]);
      return { records, text: err.text };
    };
    const first = await runOnce((t) => t.includes('twice-file: produced 2 records'), () => readTopic(address, 'twice-rt', 5));
    assert.deepEqual(first.records, [['twice-file', 2], ['twice-dir', 3]]);
    assert.match(first.text, /^twice-dir: produced 3 records to twice-rt in .*exactly-once, stopped$/m);
    // Second run: the directory's first scan found both files finished and unchanged.
    const second = await runOnce((t) => t.includes('twice-dir: 2 finished files were produced by an earlier run and are unchanged: skipped'));
    assert.deepEqual(second.records, [['twice-file', 0], ['twice-dir', 0]]);
    const got = await readAll(address, 'twice-rt');
    assert.deepEqual(got.map((g) => (g.value as { n: number }).n).sort(), [1, 2, 3, 4, 5]);
    // Asked to: the stored offsets are forgotten and the file is produced again.
    const err = captureStream();
    const again = await runSourcePipeline(config.pipelines[0], { bootstrapServers: address }, { stream: err, resetOffsets: true });
    assert.equal(again.records, 2);
    assert.match(err.text, /^twice-file: forgot the stored offsets of 1 file: producing from the beginning$/m);
    assert.deepEqual((await readAll(address, 'twice-rt')).map((g) => (g.value as { n: number }).n).sort(), [1, 1, 2, 2, 3, 4, 5]);
  });

  test('a run failed by a bad line keeps what it produced; after the fix the rerun produces only the rest', async () => {
    const path = join(dir, 'bad-then-fixed.jsonl');
    await writeFile(path, '{"n":1}\n{"n":2}\n{"n":3\n{"n":4}\n');
    const p = pipeline({ name: 'fix-in', topic: 'fixed', source: { type: 'jsonl', path: 'bad-then-fixed.jsonl', guarantee: 'exactly-once' } });
    await assert.rejects(runSourcePipeline(p, { bootstrapServers: address }, { stream: captureStream() }), /line 3: not valid JSON.*\(2 records were produced to fixed before; a rerun resumes after them\)/);
    await writeFile(path, '{"n":1}\n{"n":2}\n{"n":3}\n{"n":4}\n');
    const err = captureStream();
    const again = await runSourcePipeline(p, { bootstrapServers: address }, { stream: err });
    assert.equal(again.records, 2);
    assert.match(err.text, /fix-in: .*bad-then-fixed\.jsonl: 2 records were produced by an earlier run; resuming after them/);
    const got = await readAll(address, 'fixed');
    assert.deepEqual(got.map((g) => (g.value as { n: number }).n).sort(), [1, 2, 3, 4]);
  });
});
