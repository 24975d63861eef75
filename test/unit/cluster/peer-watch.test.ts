import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import type { BrokerRegistration, MetadataImage } from '../../../src/cluster/metadata.js';
import { PeerWatch } from '../../../src/cluster/peer-watch.js';
import { createLogger } from '../../../src/logger.js';
import { until } from '../../helpers/cluster-settings.js';
import { etcdStoreFixture } from '../../helpers/etcd-store-fixture.js';

const logger = createLogger('silent');
const fx = etcdStoreFixture('pw');

/** A stand-in for a broker's listener: a real TCP server that can crash (close and reset every connection). */
async function listener(): Promise<{ server: Server; port: number; sockets: Set<Socket>; crash(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); s.on('error', () => undefined); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const crash = async (): Promise<void> => {
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const s of sockets) s.resetAndDestroy();
    await closed;
  };
  fx.onCleanup(() => { if (server.listening) return crash(); });
  return { server, port, sockets, crash };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function image(...brokers: BrokerRegistration[]): MetadataImage {
  return { brokers: new Map(brokers.map((b) => [b.nodeId, b])) } as unknown as MetadataImage;
}

function registration(nodeId: number, port: number, over: Partial<BrokerRegistration> = {}): BrokerRegistration {
  return { nodeId, host: '127.0.0.1', port, rack: null, incarnationId: `i${nodeId}`, brokerEpoch: 10, leaseId: '12345', shuttingDown: false, ...over };
}

test('a crashed peer (listener gone, connections reset) is unregistered by revoking its lease, long before the lease would expire', async () => {
  const prefix = fx.freshPrefix();
  const watcher = await fx.open(prefix);
  const peer = await fx.open(prefix);
  const l = await listener();
  await peer.registerBroker({ nodeId: 2, host: '127.0.0.1', port: l.port, rack: null, incarnationId: 'p2' });
  await until('peer registered in the watcher image', () => watcher.image().brokers.has(2));
  const reg = watcher.image().brokers.get(2)!;
  assert.notEqual(reg.leaseId, '0', 'the registration carries its lease');
  const pw = new PeerWatch({ nodeId: 1, revokeLease: (id) => watcher.revokeLease(id), logger });
  fx.onCleanup(() => pw.close());
  pw.update(watcher.image());
  await until('connected to the peer', () => pw.connected().includes(2));
  let lost = false;
  peer.onLeaseLost(() => { lost = true; });

  const crashedAt = Date.now();
  await l.crash();
  // The peer's store still keeps its lease alive: only a revocation removes the registration.
  await until('registration gone', () => !watcher.image().brokers.has(2), 1500, 10);
  const ms = Date.now() - crashedAt;
  assert.ok(ms < 1000, `unregistered ${ms} ms after the crash (the lease TTL is 2000 ms)`);
  await until('the peer store notices its lease is gone', () => lost, 5000);
});

test('no revocation for a peer that was never reachable, nor for one whose connection is merely closed while it still listens', async () => {
  const revoked: string[] = [];
  const pw = new PeerWatch({ nodeId: 1, revokeLease: async (id) => { revoked.push(id); }, logger, retryMs: 50 });
  fx.onCleanup(() => pw.close());
  // Never listening: refused from the start.
  const never = await listener();
  await never.crash();
  // Listening, but drops each connection (like an idle timeout).
  const l = await listener();
  pw.update(image(registration(2, never.port, { leaseId: '2' }), registration(3, l.port, { leaseId: '3' })));
  await until('connected to 3', () => pw.connected().includes(3));
  for (let i = 0; i < 3; i++) {
    await until('a connection to drop', () => l.sockets.size > 0);
    for (const s of l.sockets) s.destroy();
    await sleep(100);
  }
  await until('connected to 3 again', () => pw.connected().includes(3));
  await sleep(300);
  assert.deepEqual(revoked, [], 'nothing revoked');
  assert.ok(!pw.connected().includes(2));
});

test('a peer shutting down (controlled shutdown) or re-registered is not judged by its old listener; a removed one is forgotten', async () => {
  const revoked: string[] = [];
  const pw = new PeerWatch({ nodeId: 1, revokeLease: async (id) => { revoked.push(id); }, logger });
  fx.onCleanup(() => pw.close());
  const a = await listener();
  const b = await listener();
  pw.update(image(registration(2, a.port, { leaseId: '2' }), registration(3, b.port, { leaseId: '3' })));
  await until('connected to both', () => pw.connected().length === 2);
  // 2 announces its shutdown, then closes its listener; 3 is gone from the image before it crashes.
  pw.update(image(registration(2, a.port, { leaseId: '2', shuttingDown: true })));
  await a.crash();
  await b.crash();
  await sleep(300);
  assert.deepEqual(revoked, []);
  assert.deepEqual(pw.connected(), []);
  // A crash of the watcher's own node id is never watched.
  const c = await listener();
  pw.update(image(registration(1, c.port, { leaseId: '1' })));
  await sleep(100);
  assert.deepEqual(pw.connected(), []);
});

test('the registration revoked is the one that was watched, not a newer one of the same node', async () => {
  const revoked: string[] = [];
  const pw = new PeerWatch({ nodeId: 1, revokeLease: async (id) => { revoked.push(id); }, logger });
  fx.onCleanup(() => pw.close());
  const a = await listener();
  pw.update(image(registration(2, a.port, { leaseId: '20', brokerEpoch: 5 })));
  await until('connected', () => pw.connected().includes(2));
  await a.crash();
  await until('revoked', () => revoked.length === 1);
  assert.deepEqual(revoked, ['20']);
  // Restarted elsewhere with a new registration: watched afresh, and its crash revokes its own lease.
  const b = await listener();
  pw.update(image(registration(2, b.port, { leaseId: '21', brokerEpoch: 9 })));
  await until('connected to the new registration', () => pw.connected().includes(2));
  await b.crash();
  await until('revoked again', () => revoked.length === 2);
  assert.deepEqual(revoked, ['20', '21']);
});

test('a peer that closes every connection as soon as it opens (a connection limit) is not hammered, nor revoked', async () => {
  const revoked: string[] = [];
  const pw = new PeerWatch({ nodeId: 1, revokeLease: async (id) => { revoked.push(id); }, logger, retryMs: 200 });
  fx.onCleanup(() => pw.close());
  let accepted = 0;
  const server = createServer((s) => { accepted++; s.on('error', () => undefined); s.destroy(); });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  fx.onCleanup(() => new Promise<void>((r) => server.close(() => r())));
  pw.update(image(registration(2, (server.address() as { port: number }).port, { leaseId: '2' })));
  await sleep(1000);
  // Two at once, then one per retryMs: about 6 in a second (an unbounded loop would make thousands).
  assert.ok(accepted >= 3 && accepted <= 10, `${accepted} connections in 1 s`);
  assert.deepEqual(revoked, []);
});
