import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaultProxy } from '../../helpers/fault-proxy.js';
import { startProxiedDevCluster } from '../../helpers/proxied-dev-cluster.js';
import { freePortRange } from '../../helpers/port-range.js';
import { Admin } from '../../../src/client/admin.js';

const SINGLE_NODE_START = fileURLToPath(new URL('../../helpers/single-node-start.js', import.meta.url));

let echo: Server;
let echoPort: number;
let proxy: FaultProxy;

before(async () => {
  echo = createServer((s) => {
    s.on('error', () => {});
    s.pipe(s);
  });
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as { port: number }).port;
  proxy = await FaultProxy.start({ targetPort: echoPort });
});

after(async () => {
  await proxy.close();
  echo.close();
});

async function connect(): Promise<Socket> {
  const s = createConnection({ host: '127.0.0.1', port: proxy.port });
  await once(s, 'connect');
  return s;
}

/** Writes `text` and resolves with what comes back once as many bytes arrived (rejects on error or close). */
function roundTrip(s: Socket, text: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = '';
    const timer = setTimeout(() => done(new Error(`no echo within ${timeoutMs} ms (got "${got}")`)), timeoutMs);
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) done(null);
    };
    const onError = (e: Error): void => done(e);
    const onClose = (): void => done(new Error('closed'));
    function done(err: Error | null): void {
      clearTimeout(timer);
      s.off('data', onData);
      s.off('error', onError);
      s.off('close', onClose);
      if (err) reject(err);
      else resolve(got);
    }
    s.on('data', onData);
    s.once('error', onError);
    s.once('close', onClose);
    s.write(text);
  });
}

test('forwards both ways, then cut() resets open connections and refuses new ones, heal() restores', async () => {
  const a = await connect();
  assert.equal(await roundTrip(a, 'hello'), 'hello');
  // A large payload crosses in order.
  const big = 'x'.repeat(200_000) + 'end';
  assert.equal(await roundTrip(a, big, 5000), big);
  assert.equal(proxy.openConnections, 2, 'one connection = two pipes');

  // (events.once would reject on the reset's 'error'.)
  a.on('error', () => {});
  const closed = new Promise((resolve) => a.once('close', resolve));
  proxy.cut();
  await closed;
  assert.equal(proxy.openConnections, 0);

  // New connections are reset as soon as they are accepted: no byte crosses.
  const b = createConnection({ host: '127.0.0.1', port: proxy.port });
  const outcome = await new Promise<string>((resolve) => {
    b.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    b.on('data', () => resolve('data'));
    b.on('close', () => resolve('closed'));
    b.on('connect', () => b.write('ping'));
  });
  assert.notEqual(outcome, 'data');
  assert.equal(proxy.cutOff, true);

  proxy.heal();
  const c = await connect();
  assert.equal(await roundTrip(c, 'again'), 'again');
  c.destroy();
});

test('delay(ms) holds each chunk that long, both directions, then delay(0) removes it', async () => {
  const s = await connect();
  assert.equal(await roundTrip(s, 'warm'), 'warm');
  proxy.delay(150);
  let started = Date.now();
  assert.equal(await roundTrip(s, 'slow'), 'slow');
  const slow = Date.now() - started;
  assert.ok(slow >= 280, `one round trip through a 150 ms proxy took ${slow} ms; expected ≥ 300 (two directions)`);
  proxy.delay(0);
  started = Date.now();
  assert.equal(await roundTrip(s, 'fast'), 'fast');
  assert.ok(Date.now() - started < 150, 'no delay after delay(0)');
  assert.throws(() => proxy.delay(-1), RangeError);
  s.destroy();
});

test('a proxy in front of a closed port closes the client connection', async () => {
  const spare = createServer();
  spare.listen(0, '127.0.0.1');
  await once(spare, 'listening');
  const closedPort = (spare.address() as { port: number }).port;
  spare.close();
  await once(spare, 'close');
  const p = await FaultProxy.start({ targetPort: closedPort });
  try {
    const s = createConnection({ host: '127.0.0.1', port: p.port });
    s.on('error', () => {});
    await new Promise((resolve) => s.once('close', resolve));
    assert.equal(p.openConnections, 0);
  } finally {
    await p.close();
  }
});

test('startProxiedDevCluster: each broker behind its proxy; isolate(id) cuts clients and its etcd, heal(id) restores', { timeout: 60_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-proxied-'));
  const etcdPort = await freePortRange(2);
  const pc = await startProxiedDevCluster({ brokers: 2, dir, basePort: await freePortRange(2), etcdPort, cliEntry: SINGLE_NODE_START, stopGraceMs: 5000 });
  const reachable = async (address: string): Promise<boolean> => {
    const admin = new Admin({ bootstrapServers: address, retries: 0, connectTimeoutMs: 1000, requestTimeoutMs: 2000 });
    try {
      return (await admin.describeCluster()).brokers.length === 1;
    } catch {
      return false;
    } finally {
      await admin.close();
    }
  };
  const etcdHealth = async (endpoint: string): Promise<boolean> => {
    try {
      return ((await (await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2000) })).json()) as { health: string }).health === 'true';
    } catch {
      return false;
    }
  };
  try {
    const [p1, p2] = [pc.brokerProxies.get(1)!, pc.brokerProxies.get(2)!];
    assert.equal(pc.bootstrapServers, `${p1.address},${p2.address}`);
    assert.equal(await reachable(p1.address), true);
    assert.equal(await etcdHealth(`http://${pc.etcdProxies.get(1)!.address}`), true);
    pc.isolate(1);
    assert.equal(await reachable(p1.address), false);
    assert.equal(await etcdHealth(`http://${pc.etcdProxies.get(1)!.address}`), false);
    assert.equal(await reachable(p2.address), true, 'only broker 1 is cut');
    assert.equal(await etcdHealth(`http://${pc.etcdProxies.get(2)!.address}`), true);
    pc.heal(1);
    assert.equal(await reachable(p1.address), true);
    assert.equal(await etcdHealth(`http://${pc.etcdProxies.get(1)!.address}`), true);
  } finally {
    await pc.stop();
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(await etcdHealth(`http://127.0.0.1:${etcdPort}`), false);
});
