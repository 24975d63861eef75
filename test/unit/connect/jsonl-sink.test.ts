import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runSinkPipeline } from '../../../src/connect/sink-runtime.js';
import { createSink } from '../../../src/connect/sinks/index.js';
import { JsonlSink } from '../../../src/connect/sinks/jsonl.js';
import type { SinkRecord } from '../../../src/connect/types.js';
import { createTopic, crashingSink, produce, runOptions, sinkPipeline, startTestBroker, users, type TestBroker } from './sink-support.js';

let tb: TestBroker;
before(async () => {
  tb = await startTestBroker();
});
after(async () => {
  await tb.close();
});

async function lines(path: string): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(path, 'utf8');
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('writes every record as a JSON line, with _topic/_partition/_offset when metadata is on', async () => {
  const out = join(tb.dir, 'out', 'all.jsonl');
  await createTopic(tb.client, 'jl', 3);
  const records: Array<{ key: string | null; value: unknown }> = users(500);
  records.push({ key: null, value: 'not json' });
  await produce(tb.client, 'jl', records);
  const p = sinkPipeline('jl', 'jl', { type: 'jsonl', url: out });
  p.sink = { ...p.sink!, metadata: true } as typeof p.sink;
  const result = await runSinkPipeline(p, tb.client, runOptions());
  assert.equal(result.rows, 500);
  assert.equal(result.dlq, 1);
  const got = await lines(out);
  assert.equal(got.length, 500);
  assert.equal(new Set(got.map((l) => l.id)).size, 500);
  const one = got.find((l) => l.id === 9)!;
  assert.equal(one.name, 'user-9');
  assert.equal(one._topic, 'jl');
  assert.equal(typeof one._partition, 'number');
  assert.equal(typeof one._offset, 'number');
});

test('exactly-once: stopped mid-load after a batch was written, the restarted sink resumes with no duplicates', async () => {
  const out = join(tb.dir, 'eos.jsonl');
  await createTopic(tb.client, 'jl-eos', 3);
  await produce(tb.client, 'jl-eos', users(900));
  const p = sinkPipeline('jl-eos', 'jl-eos', { type: 'jsonl', url: out, batchSize: 100, guarantee: 'exactly-once' });
  const stop = new AbortController();
  const sink = crashingSink(await createSink(p.sink!, p.name), 3, stop);
  const first = await runSinkPipeline(p, tb.client, runOptions({ signal: stop.signal, sink, once: false }));
  assert.equal(first.stopped, 'aborted');
  const partial = (await lines(out)).length;
  assert.ok(partial > 0 && partial < 900, `lines after the stop: ${partial}`);
  await runSinkPipeline(p, tb.client, runOptions());
  const got = await lines(out);
  assert.equal(got.length, 900);
  assert.equal(new Set(got.map((l) => l.id)).size, 900);
});

test('exactly-once: a tail written after the last stored offsets is cut off on open', async () => {
  const out = join(tb.dir, 'torn.jsonl');
  const rec = (offset: number): SinkRecord => ({ topic: 't', partition: 0, offset, timestamp: 0, key: null, headers: [], value: Buffer.from(JSON.stringify({ n: offset })) });
  const a = new JsonlSink({ path: out, guarantee: 'exactly-once' }, 'p');
  await a.open();
  await a.write([rec(0), rec(1)], [{ topic: 't', partition: 0, offset: 2 }]);
  await a.close();
  const size = (await stat(out)).size;
  // A crash between the data fsync and the sidecar rename leaves lines the offsets do not cover.
  await appendFile(out, '{"n":2}\n{"n":3}\n');
  const b = new JsonlSink({ path: out, guarantee: 'exactly-once' }, 'p');
  await b.open();
  assert.equal((await stat(out)).size, size);
  assert.deepEqual(await b.storedOffsets('p', [{ topic: 't', partition: 0 }, { topic: 't', partition: 1 }]), [{ topic: 't', partition: 0, offset: 2 }]);
  assert.deepEqual(await b.storedOffsets('other', [{ topic: 't', partition: 0 }]), []);
  await b.write([rec(2)], [{ topic: 't', partition: 0, offset: 3 }]);
  await b.close();
  assert.deepEqual((await lines(out)).map((l) => l.n), [0, 1, 2]);
});
