/**
 * The console from the command line: `tributary start --console-port 0` serves it in the broker's process
 * against the broker itself, `tributary console --bootstrap-server …` on its own; both print the URL and stop
 * on SIGTERM; --help has examples; a missing login file is a usage error.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI_ENTRY, runCli } from '../../helpers/cli.js';
import { apiClient } from './helpers.js';

let dataDir: string;
before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tributary-console-cli-'));
});
after(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

/** Starts the CLI and waits (≤ 15 s) for a stdout line matching `ready`. */
function spawnUntil(args: string[], ready: RegExp, env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; match: RegExpMatchArray; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no ${ready} within 15 s\nstdout: ${out}\nstderr: ${err}`));
    }, 15_000);
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = out.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before ready\nstdout: ${out}\nstderr: ${err}`));
    });
  });
}

test('tributary start --console-port: the console in the broker process, against that broker; tributary console alongside', async () => {
  const broker = await spawnUntil(
    ['start', '--port', '0', '--data-dir', join(dataDir, 'd'), '--log-level', 'warn', '--console-port', '0', '--console-read-only'],
    /Tributary console at (http:\/\/127\.0\.0\.1:\d+\/)/,
  );
  try {
    const api = apiClient(broker.match[1]!);
    const session = (await api('GET', '/api/session')).json;
    assert.equal(session.readOnly, true);
    assert.match(session.bootstrap, /^127\.0\.0\.1:\d+$/);
    const brokers = (await api('GET', '/api/brokers')).json;
    assert.equal(brokers.length, 1);
    assert.equal(`${brokers[0].host}:${brokers[0].port}`, session.bootstrap, 'the console talks to its own broker');
    assert.equal((await api('POST', '/api/topics', { name: 't', partitions: 1 })).status, 403);

    // A standalone console against that broker, with a login from the environment.
    const standalone = await spawnUntil(['console', '--bootstrap-server', session.bootstrap, '--port', '0', '--login-user', 'ops'], /Tributary console at (http:\/\/127\.0\.0\.1:\d+\/).*login required/, { TRIBUTARY_CONSOLE_PASSWORD: 'pw' });
    try {
      const s = apiClient(standalone.match[1]!);
      assert.equal((await s('GET', '/api/topics')).status, 401);
      assert.equal((await s('POST', '/api/login', { username: 'ops', password: 'pw' })).status, 204);
    } finally {
      standalone.child.kill('SIGTERM');
      assert.equal(await standalone.exited, 0);
    }
  } finally {
    broker.child.kill('SIGTERM');
    assert.equal(await broker.exited, 0);
  }
});

test('tributary console --help and usage errors', async () => {
  let r = await runCli(['console', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /Examples:\n {2}\$ tributary console --bootstrap-server 127\.0\.0\.1:9092/);
  assert.match(r.stdout, /--command-config <file>/);
  assert.match(r.stdout, /--read-only/);
  r = await runCli(['console', '--login-file', join(dataDir, 'missing.txt'), '--port', '0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot read the login file/);
  r = await runCli(['console', '--port', '70000']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--port must be 0-65535/);
  r = await runCli(['start', '--help']);
  assert.match(r.stdout, /--console-port <port>/);
});
