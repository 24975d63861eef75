import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { freePort } from '../../compat/support/db-server.js';
import { ETCD_NOT_FOUND, findOnPath, startEtcd } from '../../../src/cli/etcd-process.js';

async function health(endpoint: string): Promise<string> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { health: string }).health;
  } catch (err) {
    return `unreachable (${(err as Error).message})`;
  }
}

test('startEtcd: serves /health on 127.0.0.1, keeps its data across a crash and restart, stops', { timeout: 40_000 }, async () => {
  assert.ok(findOnPath('etcd'), 'etcd is installed (Debian etcd-server)');
  const dir = await mkdtemp(join(tmpdir(), 'tributary-etcd-'));
  const etcd = await startEtcd({ dataDir: join(dir, 'data'), clientPort: await freePort(), peerPort: await freePort(), logFile: join(dir, 'etcd.log') });
  try {
    assert.match(etcd.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(await health(etcd.endpoint), 'true');
    // A key through etcd's v3 JSON gateway (keys and values base64), read back after a SIGKILL and restart.
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    let res = await fetch(`${etcd.endpoint}/v3/kv/put`, { method: 'POST', body: JSON.stringify({ key: b64('/t/k'), value: b64('v1') }) });
    assert.equal(res.status, 200);
    const firstPid = etcd.pid;
    etcd.kill('SIGKILL');
    await etcd.exited();
    assert.match(await health(etcd.endpoint), /^unreachable/);
    await etcd.restart();
    assert.notEqual(etcd.pid, firstPid);
    res = await fetch(`${etcd.endpoint}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: b64('/t/k') }) });
    const body = (await res.json()) as { kvs?: Array<{ value: string }> };
    assert.equal(Buffer.from(body.kvs?.[0]?.value ?? '', 'base64').toString(), 'v1');
    await etcd.stop();
    assert.match(await health(etcd.endpoint), /^unreachable/);
    assert.match(await readFile(join(dir, 'etcd.log'), 'utf8'), /ready to serve client requests/);
  } finally {
    await etcd.stop(1000);
    await rm(dir, { recursive: true, force: true });
  }
});

test('startEtcd without etcd on PATH: the install hint', async () => {
  assert.equal(findOnPath('etcd', '/nonexistent'), null);
  const r = await runCli(['dev-cluster', '--brokers', '1', '--dir', join(tmpdir(), 'never-created')], { env: { PATH: '/nonexistent' }, timeoutMs: 20_000 });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `error: ${ETCD_NOT_FOUND}\n`);
});

// Until `tributary start --etcd` exists (the lead's part of issue 10), a dev cluster cannot start its brokers:
// it must say so in one clear line, stop the etcd it started and exit 1. The lead replaces this test with the
// full one (3 brokers, Metadata lists all of them, kill/restart a broker) once `start --etcd` lands.
test('dev-cluster --brokers 3: fails clearly while `start --etcd` is unknown, and stops its etcd', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-dev-cluster-'));
  try {
    const etcdPort = await freePort();
    const basePort = await freePort();
    const r = await runCli(['dev-cluster', '--brokers', '3', '--dir', dir, '--base-port', String(basePort), '--etcd-port', String(etcdPort)], { timeoutMs: 50_000 });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /^error: broker 1 exited \(1\) before listening: .*unknown option '--node-id'/);
    assert.match(r.stderr, new RegExp(`\\(log: ${join(dir, 'broker-1.log').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\)`));
    assert.equal(r.stdout, '', 'no summary: the cluster never came up');
    // etcd ran (its data and log are there) and was stopped; brokers 2 and 3 were never started.
    assert.match(await readFile(join(dir, 'etcd.log'), 'utf8'), /ready to serve client requests/);
    assert.ok(existsSync(join(dir, 'etcd', 'member')));
    assert.match(await health(`http://127.0.0.1:${etcdPort}`), /^unreachable/);
    assert.match(await readFile(join(dir, 'broker-1.log'), 'utf8'), /unknown option '--node-id'/);
    assert.equal(existsSync(join(dir, 'broker-2.log')), false);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('dev-cluster --help: options and examples; --brokers 0 is a usage error', async () => {
  const [help, zero] = await Promise.all([runCli(['dev-cluster', '--help']), runCli(['dev-cluster', '--brokers', '0'])]);
  assert.equal(help.code, 0);
  for (const o of ['--brokers', '--dir', '--base-port', '--etcd-port', '--set']) assert.match(help.stdout, new RegExp(o));
  assert.match(help.stdout, /Examples:\n {2}\$ tributary dev-cluster --brokers 3/);
  assert.equal(zero.code, 1);
  assert.match(zero.stderr, /--brokers must be a whole number ≥ 1, got "0"/);
});
