// `tributary streams describe` (from a module, from what a KafkaStreams published) and `streams list`, against the
// in-process broker and a real KafkaStreams.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { Consumed, Grouped, Materialized, Produced, Serdes, StreamsBuilder, TOPOLOGIES_TOPIC, type Topology } from '../../../src/streams/index.js';
import { openBroker, type TestBroker } from '../client/admin-fixtures.js';
import { FAST_GROUPS } from '../client/consumer-support.js';
import { createTopics, fastProps, produce, startApp } from '../streams/runtime-support.js';

const S = Serdes.String();
let broker: TestBroker;
let dir: string;

before(async () => {
  broker = await openBroker(FAST_GROUPS);
  dir = mkdtempSync(join(tmpdir(), 'streams-cli-'));
  await createTopics(broker.address, [{ name: 'sc-in', partitions: 2 }, { name: 'sc-out', partitions: 2 }]);
});

after(async () => {
  rmSync(dir, { recursive: true, force: true });
  await broker.close();
});

const streams = (...args: string[]) => runCli(['streams', ...args], { timeoutMs: 20_000 });

function wordCount(): Topology {
  const b = new StreamsBuilder();
  b.stream('sc-in', Consumed.with(S, S)).filter((_k, v) => v !== '').groupBy((_k, v) => v, Grouped.with(S, S)).count(Materialized.with(S, Serdes.Long())).toStream()
    .mapValues((n) => String(n)).to('sc-out', Produced.with(S, S));
  return b.build();
}

test('every streams command has --help with examples (exit 0)', async () => {
  for (const c of [[], ['describe'], ['list']]) {
    const h = await runCli(['streams', ...c, '--help'], { timeoutMs: 20_000 });
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /Examples:\n {2}\$ tributary streams /);
  }
});

test('describe --module: a function export, a named export, a StreamsBuilder; nothing is started', async () => {
  const index = pathToFileURL(resolve(import.meta.dirname, '../../../src/streams/index.js')).href;
  const app = join(dir, 'app.mjs');
  writeFileSync(app, `import { StreamsBuilder, Consumed, Grouped, Materialized, Produced, Serdes } from '${index}';
const S = Serdes.String();
export default function buildTopology() {
  const b = new StreamsBuilder();
  b.stream('sc-in', Consumed.with(S, S)).filter((_k, v) => v !== '').groupBy((_k, v) => v, Grouped.with(S, S)).count(Materialized.with(S, Serdes.Long())).toStream()
    .mapValues((n) => String(n)).to('sc-out', Produced.with(S, S));
  return b.build();
}
export const builder = new StreamsBuilder();
builder.stream('a').to('b');
`);
  let r = await streams('describe', '--module', app);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, wordCount().describe().toString() + '\n');
  assert.match(r.stdout, /^Topologies:\n {3}Sub-topology: 0\n {4}Source: KSTREAM-SOURCE-0000000000 \(topics: \[sc-in\]\)/);
  assert.match(r.stdout, /Sub-topology: 1\n/, 'the groupBy repartitions: two sub-topologies');

  r = await streams('describe', '--module', app, '--export', 'builder');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Source: KSTREAM-SOURCE-0000000000 \(topics: \[a\]\)[\s\S]*Sink: KSTREAM-SINK-0000000001 \(topic: b\)/);

  r = await streams('describe', '--module', app, '--export', 'nope');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /has no export 'nope' \(exports: builder, default\)/);

  r = await streams('describe', '--module', join(dir, 'missing.mjs'));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot load module .*missing\.mjs/);

  r = await streams('describe');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /name an application\.id \(see `tributary streams list`\) or give --module <file>/);
});

test('describe <application.id> and list read what a running KafkaStreams published; publishing can be turned off', async () => {
  let r = await streams('describe', 'sc-app', '-b', broker.address);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`${TOPOLOGIES_TOPIC} does not exist\\): start a KafkaStreams application`));
  r = await streams('list', '-b', broker.address);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '');

  const topology = wordCount();
  const { app } = await startApp(topology, fastProps(broker.address, 'sc-app'));
  const quiet = await startApp(wordCount(), fastProps(broker.address, 'sc-quiet', { 'tributary.topology.publish': false }));
  try {
    await produce(broker.address, 'sc-in', [{ key: null, value: 'x', partition: 0 }, { key: null, value: 'y', partition: 1 }]);
    const admin = new Admin({ bootstrapServers: broker.address });
    await admin.connect();
    try {
      const [d] = await admin.describeTopics([TOPOLOGIES_TOPIC]);
      assert.equal(d!.partitions.length, 1);
      const configs = await admin.describeConfigs([{ type: 'topic', name: TOPOLOGIES_TOPIC }]);
      assert.equal(JSON.stringify(configs).includes('"compact"'), true, 'cleanup.policy=compact');
    } finally {
      await admin.close();
    }

    r = await streams('describe', 'sc-app', '-b', broker.address);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, topology.describe().toString() + '\n');

    r = await streams('describe', 'sc-app', '--json', '-b', broker.address);
    assert.equal(r.code, 0, r.stderr);
    const rec = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(rec.applicationId, 'sc-app');
    assert.equal(rec.clientId, 'sc-app-StreamThread-1');
    assert.equal(rec.instance, `${(await import('node:os')).hostname()}:${process.pid}`);
    assert.ok(typeof rec.startTime === 'number' && rec.startTime > Date.now() - 60_000);

    r = await streams('describe', 'sc-quiet', '-b', broker.address);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no published topology for application\.id 'sc-quiet' \(published: sc-app\)/);

    const deadline = Date.now() + 10_000;
    do r = await streams('list', '-b', broker.address);
    while (!/sc-app +RUNNING/.test(r.stdout) && Date.now() < deadline);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
    assert.deepEqual(rows[0], ['APPLICATION-ID', 'STATE', 'GROUP-STATE', 'MEMBERS', 'LAG', 'CLIENT-ID', 'INSTANCE', 'STARTED', 'UPDATED']);
    assert.equal(rows.length, 2, 'sc-quiet did not publish');
    assert.deepEqual(rows[1]!.slice(0, 4), ['sc-app', 'RUNNING', 'Stable', '1']);
  } finally {
    await quiet.app.close();
    await app.close();
  }
  r = await streams('list', '-b', broker.address);
  assert.equal(r.code, 0, r.stderr);
  const row = r.stdout.trimEnd().split('\n')[1]!.split(/ {2,}/);
  assert.deepEqual(row.slice(0, 4), ['sc-app', 'NOT_RUNNING', 'Empty', '0'], 'closing publishes NOT_RUNNING; the group is empty');
});
