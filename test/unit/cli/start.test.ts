import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { RawClient } from '../../helpers/raw-client.js';

const BIN = resolve(import.meta.dirname, '../../../../bin/tributary.js');

function startCli(args: string[]): Promise<{ child: ReturnType<typeof spawn>; address: string; output: () => string }> {
  const child = spawn(process.execPath, [BIN, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`broker did not start: ${out}`));
    }, 10_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (\S+?:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolvePromise({ child, address: m[1]!, output: () => out });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code}: ${out}`));
    });
  });
}

test('start --config and --set apply Kafka keys; SIGTERM exits 0 within 5 s with a clean-shutdown marker', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
  try {
    const props = join(dir, 'server.properties');
    writeFileSync(props, '# test\nnum.partitions=4\nlog.retention.hours = 1\n');
    const { child, address } = await startCli(['--port', '0', '--data-dir', join(dir, 'data'), '--config', props, '--set', 'auto.create.topics.enable=true']);
    const c = await RawClient.connect(address);
    const md = await c.send(3, 12, { topics: [{ name: 'via-cli', topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: true });
    assert.equal(md.topics[0].partitions.length, 4);
    const cfg = await c.send(32, 4, { resources: [{ resourceType: 2, resourceName: 'via-cli', configurationKeys: ['retention.ms'] }] });
    assert.equal(cfg.results[0].configs[0].value, '3600000');
    assert.equal(cfg.results[0].configs[0].configSource, 4);
    c.close();
    const t0 = Date.now();
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(Date.now() - t0 < 5000, 'exited within 5 s');
    assert.ok(existsSync(join(dir, 'data', '.kafka_cleanshutdown')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a bad config value stops start-up naming the key, the value and what is allowed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-cli-'));
  try {
    const r = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--data-dir', dir, '--set', 'message.max.bytes=lots'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /"lots".*message\.max\.bytes.*integer/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--log-level is checked: an unknown level exits 1 naming the levels, not with a pino message', () => {
  const r = spawnSync(process.execPath, [BIN, 'start', '--port', '0', '--data-dir', join(tmpdir(), 'tributary-never-created'), '--log-level', 'loud'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /argument 'loud' is invalid\. Allowed choices are fatal, error, warn, info, debug, trace, silent/);
  assert.doesNotMatch(r.stderr, /custom levels|at |pino/);
  assert.equal(existsSync(join(tmpdir(), 'tributary-never-created')), false);
});

test('--help documents the start options', () => {
  const r = spawnSync(process.execPath, [BIN, 'start', '--help'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 0);
  for (const flag of ['--host', '--port', '--data-dir', '--config', '--set']) assert.ok(r.stdout.includes(flag), flag);
  const top = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8', timeout: 10_000 });
  assert.match(top.stdout, /start/);
});
