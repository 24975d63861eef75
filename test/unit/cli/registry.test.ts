// `tributary start --registry-port`, `tributary registry`, and produce/consume --value-format avro|json-schema:
// JSON text on the terminal, Confluent's wire format on the topic.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Consumer } from '../../../src/index.js';
import { CLI_ENTRY, runCli } from '../../helpers/cli.js';

/** Spawns the CLI and waits for each pattern on stdout; resolves with their first groups. */
function spawnCli(args: string[], patterns: RegExp[]): Promise<{ child: ReturnType<typeof spawn>; found: string[] }> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`did not start: ${out}`));
    }, 20_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const found = patterns.map((p) => p.exec(out)?.[1]);
      if (found.every((f) => f !== undefined)) {
        clearTimeout(timer);
        resolve({ child, found: found as string[] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${out}`));
    });
  });
}

const stop = (child: ReturnType<typeof spawn>): Promise<number | null> => new Promise((resolve) => {
  child.once('exit', (code) => resolve(code));
  child.kill('SIGTERM');
});

describe('the schema registry from the CLI', () => {
  let dir: string;
  let broker: ReturnType<typeof spawn>;
  let address: string;
  let registryUrl: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tributary-cli-registry-'));
    const started = await spawnCli(['start', '--port', '0', '--data-dir', join(dir, 'data'), '--registry-port', '0'], [/listening on (\S+?:\d+)/, /schema registry at (http:\/\/\S+)/]);
    broker = started.child;
    [address, registryUrl] = started.found as [string, string];
  });
  after(async () => {
    if (broker) assert.equal(await stop(broker), 0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('produce --value-format avro registers the schema and writes the wire format; consume prints JSON', async () => {
    const schemaFile = join(dir, 'user.avsc');
    writeFileSync(schemaFile, JSON.stringify({ type: 'record', name: 'User', fields: [{ name: 'id', type: 'long' }, { name: 'email', type: ['null', 'string'], default: null }] }));
    const p = await runCli(['produce', '-b', address, '-t', 'users', '--value-format', 'avro', '--schema-registry', registryUrl, '--value-schema-file', schemaFile, '--no-progress'], {
      input: '{"id": 1, "email": "a@b.c"}\n{"id": 2, "email": null}\n',
    });
    assert.equal(p.code, 0, p.stderr);
    const subjects = await (await fetch(`${registryUrl}/subjects`)).json();
    assert.deepEqual(subjects, ['users-value']);
    // On the topic: magic byte 0, the id, then Avro binary (id 1 is long 1 → zigzag 0x02).
    const consumer = new Consumer({ bootstrapServers: address, autoOffsetReset: 'earliest' });
    await consumer.connect();
    consumer.assign([{ topic: 'users', partition: 0 }]);
    const raw = [];
    for (let i = 0; i < 20 && raw.length < 2; i++) raw.push(...await consumer.poll(500));
    await consumer.close();
    assert.deepEqual([...raw[0]!.value!.subarray(0, 6)], [0, 0, 0, 0, 1, 2]);

    const c = await runCli(['consume', '-b', address, '-t', 'users', '--value-format', 'avro', '--schema-registry', registryUrl]);
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stdout.trim().split('\n').map((l) => JSON.parse(l)), [{ id: 1, email: 'a@b.c' }, { id: 2, email: null }]);

    // Without a schema, produce uses the subject's latest; a value that does not fit fails the run.
    const bad = await runCli(['produce', '-b', address, '-t', 'users', '--value-format', 'avro', '--schema-registry', registryUrl, '--no-progress'], { input: '{"id": "x"}\n' });
    assert.equal(bad.code, 1);
  });

  test('json-schema values are validated on produce and printed on consume', async () => {
    const schema = JSON.stringify({ type: 'object', properties: { sku: { type: 'string' } }, required: ['sku'] });
    const args = ['-b', address, '-t', 'stock', '--value-format', 'json-schema', '--schema-registry', registryUrl];
    const p = await runCli(['produce', ...args, '--value-schema', schema, '--no-progress'], { input: '{"sku": "A1"}\n' });
    assert.equal(p.code, 0, p.stderr);
    const bad = await runCli(['produce', ...args, '--value-schema', schema, '--no-progress'], { input: '{"qty": 1}\n' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /does not match its JSON Schema/);
    const c = await runCli(['consume', ...args]);
    assert.equal(c.stdout, '{"sku":"A1"}\n');
    const missing = await runCli(['consume', '-b', address, '-t', 'stock', '--value-format', 'avro']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /needs --schema-registry/);
  });

  test('tributary registry serves the same subjects and ids from the broker\'s _schemas', async () => {
    const { child, found } = await spawnCli(['registry', '-b', address, '--port', '0'], [/schema registry at (http:\/\/\S+)/]);
    try {
      const [url] = found;
      assert.deepEqual(await (await fetch(`${url}/subjects`)).json(), ['stock-value', 'users-value']);
      assert.deepEqual(await (await fetch(`${url}/schemas/ids/2`)).json(), await (await fetch(`${registryUrl}/schemas/ids/2`)).json());
    } finally {
      assert.equal(await stop(child), 0);
    }
    const help = await runCli(['registry', '--help']);
    assert.match(help.stdout, /--bootstrap-server/);
    assert.match(help.stdout, /127\.0\.0\.1/);
  });
});
