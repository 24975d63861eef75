/** `tributary connect` as a user runs it: the compiled CLI in a child process against an in-process broker. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Admin } from '../../../src/client/admin.js';
import { Consumer } from '../../../src/client/consumer.js';
import { OFFSETS_TOPIC } from '../../../src/connect/source-offsets.js';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';
import { freePort } from '../../helpers/free-ports.js';
import { CLI_ENTRY, runCli, type CliResult } from '../../helpers/cli.js';

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('tributary connect', () => {
  let address: string;
  let broker: TestBroker;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-cli-connect-'));
    // No initial rebalance delay: a one-member group gets its assignment at once.
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    address = broker.address;
  });
  after(async () => {
    await broker?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function readTopic(topic: string, count: number): Promise<Array<{ key: string | null; value: unknown }>> {
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
    try {
      await c.connect();
      c.assign([0, 1, 2].map((partition) => ({ topic, partition })));
      const out: Array<{ key: string | null; value: unknown }> = [];
      const deadline = Date.now() + 10_000;
      while (out.length < count && Date.now() < deadline) {
        for (const r of await c.poll(500)) out.push({ key: r.key?.toString() ?? null, value: JSON.parse(r.value!.toString()) });
      }
      return out;
    } finally {
      await c.close();
    }
  }

  test('a YAML pipeline file with two file sources runs both to the end and exits 0', async () => {
    await writeFile(join(dir, 'users.csv.gz'), gzipSync('id,name,age\n1,"Lee, Ann",30\n2,Bo,41\n'));
    await writeFile(join(dir, 'orders.jsonl'), '{"order":"o1","total":9.5}\n{"order":"o2","total":3}\n');
    // bootstrapServers in the file is wrong on purpose: -b wins.
    await writeFile(
      join(dir, 'pipelines.yaml'),
      `bootstrapServers: 127.0.0.1:1
pipelines:
  - name: users-in
    topic: users
    source: { type: csv, path: users.csv.gz, keyColumn: id }
  - name: orders-in
    topic: orders
    source:
      type: jsonl
      path: orders.jsonl
      keyColumn: order
`,
    );
    const r = ok(await runCli(['connect', join(dir, 'pipelines.yaml'), '-b', address], { timeoutMs: 20_000 }));
    assert.match(r.stderr, /^users-in: produced 2 records to users in /m);
    assert.match(r.stderr, /^orders-in: produced 2 records to orders in /m);
    const users = (await readTopic('users', 2)).sort((a, b) => Number(a.key) - Number(b.key));
    assert.deepEqual(users, [{ key: '1', value: { id: 1, name: 'Lee, Ann', age: 30 } }, { key: '2', value: { id: 2, name: 'Bo', age: 41 } }]);
    const orders = (await readTopic('orders', 2)).map((o) => o.key).sort();
    assert.deepEqual(orders, ['o1', 'o2']);
  });

  test('one pipeline from flags', async () => {
    await writeFile(join(dir, 'flags.csv'), 'k;v\na;1\n');
    ok(await runCli(['connect', '--topic', 'from-flags', '--source-type', 'csv', '--source-path', join(dir, 'flags.csv'), '--delimiter', ';', '--key-column', 'k', '-b', address], { timeoutMs: 20_000 }));
    assert.deepEqual(await readTopic('from-flags', 1), [{ key: 'a', value: { k: 'a', v: 1 } }]);
  });

  test('an HTTP source runs until SIGTERM, then stops cleanly with exit 0', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [CLI_ENTRY, 'connect', '--topic', 'web', '--source-type', 'http', '--port', String(port), '-b', address], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    try {
      let res: Response | undefined;
      for (let i = 0; i < 100 && res === undefined; i++) {
        res = await fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', body: '[{"a":1},{"a":2}]' }).catch(async () => {
          await new Promise((resolve) => setTimeout(resolve, 100)); // not listening yet
          return undefined;
        });
      }
      assert.ok(res, `the HTTP source never listened\n${stderr}`);
      assert.equal(res.status, 202);
      assert.deepEqual(await res.json(), { accepted: 2 });
      child.kill('SIGTERM');
      const [code] = await exited;
      assert.equal(code, 0, stderr);
      assert.match(stderr, /produced 2 records to web .*stopped/);
      assert.match(stderr, /connect: stopped/);
      assert.match(stderr, new RegExp(`^source-web: listening on http://127\\.0\\.0\\.1:${port}/events `, 'm'));
    } finally {
      clearTimeout(killer);
    }
  });

  test('mistakes: bad config exits 1 naming pipeline and key; missing arguments exit 1 pointing to --help', async () => {
    await writeFile(join(dir, 'bad.yaml'), 'pipelines:\n  - name: p1\n    topic: t\n    source: { type: csv, path: x.csv, delimiter: "::" }\n');
    const bad = await runCli(['connect', join(dir, 'bad.yaml'), '-b', address], { timeoutMs: 20_000 });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /error: .*bad\.yaml: pipeline "p1": source\.delimiter is "::": must be one character/);
    const none = await runCli(['connect', '-b', address], { timeoutMs: 20_000 });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /\(run with --help for usage\)/);
    assert.match(none.stderr, /give a pipeline file, or --topic/);
    const missing = await runCli(['connect', join(dir, 'x.csv'), '-b', address], { timeoutMs: 20_000 });
    assert.equal(missing.code, 1);
    const badX = await runCli(['connect', '--topic', 't', '--sink-type', 'jsonl', '--sink-url', join(dir, 'o.jsonl'), '-X', 'session.timeout.ms=soon', '-b', address], { timeoutMs: 20_000 });
    assert.equal(badX.code, 1);
    assert.match(badX.stderr, /-X session\.timeout\.ms must be a positive whole number of milliseconds, got "soon"/);
  });

  test('--help explains sources, sinks and examples', async () => {
    const r = ok(await runCli(['connect', '--help']));
    for (const s of ['--source-type', '--sink-type', '--guarantee', '--once', 'directory', 'connect-offsets', '202', 'Examples:', 'SIGTERM', 'session.timeout.ms']) assert.ok(r.stdout.includes(s), `help lacks ${s}`);
  });

  /** How many times each id occurs in a topic (3 partitions), read to its end with this isolation level. */
  async function idCounts(topic: string, isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<Map<number, number>> {
    const admin = new Admin({ bootstrapServers: address });
    const tps = [0, 1, 2].map((partition) => ({ topic, partition }));
    const ends = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel });
    await admin.close();
    const c = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest', isolationLevel, maxPollRecords: 5000 });
    const counts = new Map<number, number>();
    try {
      await c.connect();
      c.assign(tps);
      const deadline = Date.now() + 15_000;
      while (ends.some((e) => (c.position(e) ?? 0) < e.offset)) {
        assert.ok(Date.now() < deadline, `could not read ${topic} to its end`);
        for (const r of await c.poll(200)) {
          const id = (JSON.parse(r.value!.toString()) as { id: number }).id;
          counts.set(id, (counts.get(id) ?? 0) + 1);
        }
      }
    } finally {
      await c.close();
    }
    return counts;
  }

  async function topicEnd(topic: string, isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_uncommitted'): Promise<number> {
    const admin = new Admin({ bootstrapServers: address });
    try {
      const { partitions } = (await admin.describeTopics([topic]))[0];
      const ends = await admin.listOffsets(partitions.map((p) => ({ topic, partition: p.partition, timestamp: 'latest' as const })), { isolationLevel });
      return ends.reduce((n, e) => n + e.offset, 0);
    } catch {
      return 0; // not created yet
    } finally {
      await admin.close();
    }
  }

  test('run twice with --once: the second run produces nothing and the table keeps one row per CSV row', async () => {
    await writeFile(join(dir, 'twice.csv'), 'id,name\n1,a\n2,b\n3,c\n');
    await writeFile(
      join(dir, 'twice.yaml'),
      `pipelines:
  - name: twice-in
    topic: twice
    source: { type: csv, path: twice.csv, keyColumn: id }
  - name: twice-to-db
    topic: twice
    sink: { type: jsonl, url: twice-out.jsonl, guarantee: exactly-once }
`,
    );
    const first = ok(await runCli(['connect', join(dir, 'twice.yaml'), '--once', '-b', address], { timeoutMs: 30_000 }));
    assert.match(first.stderr, /^twice-in: produced 3 records to twice in .*exactly-once/m);
    const second = ok(await runCli(['connect', join(dir, 'twice.yaml'), '--once', '-b', address], { timeoutMs: 30_000 }));
    assert.match(second.stderr, /^twice-in: .*twice\.csv: all 3 records were produced by an earlier run and the file is unchanged; nothing to produce$/m);
    assert.match(second.stderr, /^twice-in: produced 0 records to twice /m);
    assert.deepEqual([...(await idCounts('twice', 'read_uncommitted'))].sort(), [[1, 1], [2, 1], [3, 1]]);
    const { readFile } = await import('node:fs/promises');
    const lines = (await readFile(join(dir, 'twice-out.jsonl'), 'utf8')).trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
    assert.deepEqual(lines.sort(), [1, 2, 3]);
  });

  /**
   * Starts `tributary connect` on a CSV of `rows` rows (id = row number), SIGKILLs it once `killAt` records are in
   * the topic and connect-offsets holds something, runs it again to the end; returns what each step saw.
   */
  async function killAndRerun(topic: string, guarantee: 'at-least-once' | 'exactly-once', rows: number, killAt: number) {
    const file = join(dir, `${topic}.csv`);
    const lines = ['id,payload'];
    for (let i = 1; i <= rows; i++) lines.push(`${i},${'x'.repeat(8)}`);
    await writeFile(file, `${lines.join('\n')}\n`);
    const args = ['connect', '--topic', topic, '--source-type', 'csv', '--source-path', file, '--key-column', 'id', '--guarantee', guarantee, '-b', address];
    const offsetsBefore = await topicEnd(OFFSETS_TOPIC);
    const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    const exit = once(child, 'exit').then(() => (exited = true));
    const deadline = Date.now() + 20_000;
    const eos = guarantee === 'exactly-once';
    // exactly-once: killed once a transaction has committed and the next one has records in the log (HW > LSO).
    const ready = async (): Promise<boolean> => {
      if ((await topicEnd(topic, eos ? 'read_committed' : 'read_uncommitted')) < killAt || (await topicEnd(OFFSETS_TOPIC)) <= offsetsBefore) return false;
      return !eos || (await topicEnd(topic)) > (await topicEnd(topic, 'read_committed'));
    };
    while (!(await ready())) {
      assert.ok(!exited, `the run ended before it could be killed; make the file bigger\n${stderr}`);
      assert.ok(Date.now() < deadline, `no progress to kill at\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    await exit;
    assert.doesNotMatch(stderr, /produced \d+ records to/, 'killed before its summary');
    const committedBefore = await idCounts(topic, 'read_committed');
    const allBefore = await idCounts(topic, 'read_uncommitted');
    const rerun = ok(await runCli(args, { timeoutMs: 60_000 }));
    const resumed = /\.csv: (\d+) records were produced by an earlier run; resuming after them/.exec(rerun.stderr);
    assert.ok(resumed, rerun.stderr);
    const position = Number(resumed[1]);
    assert.match(rerun.stderr, new RegExp(`produced ${rows - position} records to ${topic} `));
    return { position, committedBefore, allBefore, after: await idCounts(topic, guarantee === 'exactly-once' ? 'read_committed' : 'read_uncommitted') };
  }

  const ROWS = Number(process.env.TRIBUTARY_KILL_TEST_ROWS ?? 250_000);

  test('at-least-once: SIGKILL mid-run, then a rerun resumes at the stored offset; only records acknowledged after it repeat', async () => {
    const { position, allBefore, after } = await killAndRerun('killed-alo', 'at-least-once', ROWS, 5000);
    assert.ok(position > 0 && position < ROWS, `resumed at ${position}`);
    // Everything up to the stored offset had been acknowledged; the rerun sends exactly the rows after it.
    for (let id = 1; id <= position; id++) assert.equal(allBefore.get(id), 1, `row ${id} before the rerun`);
    for (let id = 1; id <= ROWS; id++) {
      const expected = id <= position ? 1 : allBefore.has(id) ? 2 : 1;
      assert.equal(after.get(id), expected, `row ${id} after the rerun (stored offset ${position})`);
    }
    assert.equal(after.size, ROWS);
  });

  test('exactly-once: SIGKILL mid-transaction, then a rerun resumes at the committed offset; read_committed sees every row once', async () => {
    const { position, committedBefore, allBefore, after } = await killAndRerun('killed-eos', 'exactly-once', ROWS, 5000);
    assert.ok(position > 0 && position < ROWS, `resumed at ${position}`);
    // The stored offset is exactly what was committed: rows 1..position, once each; the open transaction's rows
    // (after position) are in the log but aborted.
    assert.equal(committedBefore.size, position);
    assert.ok(allBefore.size > position, `the killed transaction had rows in the log (${allBefore.size} vs ${position})`);
    for (const id of allBefore.keys()) if (id > position) assert.equal(committedBefore.get(id), undefined);
    for (let id = 1; id <= position; id++) assert.equal(committedBefore.get(id), 1, `row ${id} committed before the rerun`);
    assert.equal(after.size, ROWS);
    for (let id = 1; id <= ROWS; id++) assert.equal(after.get(id), 1, `row ${id} after the rerun`);
  });
});
