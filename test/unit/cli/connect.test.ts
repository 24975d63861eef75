/** `tributary connect` as a user runs it: the compiled CLI in a child process against an in-process broker. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Consumer } from '../../../src/client/consumer.js';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';
import { freePort } from '../../compat/support/db-server.js';
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
    for (const s of ['--source-type', '--sink-type', '--guarantee', '--once', 'directory', 'tributary-done', '202', 'Examples:', 'SIGTERM', 'session.timeout.ms']) assert.ok(r.stdout.includes(s), `help lacks ${s}`);
  });
});
