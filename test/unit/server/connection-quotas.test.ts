import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { parsePerIpOverrides } from '../../../src/server/connection-quotas.js';

const API_VERSIONS = 18;

async function withBroker(config: Record<string, string>, fn: (b: RunningBroker) => Promise<void>): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-connquota-'));
  const b = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config });
  try {
    await fn(b);
  } finally {
    await b.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Connects and reports whether the broker closes the socket within `ms` (a refused connection is closed at once). */
function closedWithin(port: number, ms: number): Promise<{ closed: boolean; afterMs: number; socket: Socket }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const socket = connect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    const timer = setTimeout(() => resolve({ closed: false, afterMs: Date.now() - t0, socket }), ms);
    socket.on('close', () => { clearTimeout(timer); resolve({ closed: true, afterMs: Date.now() - t0, socket }); });
  });
}

const apiVersions = (c: RawClient) => c.send(API_VERSIONS, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });

describe('connection limits', () => {
  test('max.connections.per.ip and its overrides: the connection over the limit is closed; a freed slot is reused', async () => {
    await withBroker({ 'max.connections.per.ip': '2' }, async (b) => {
      const a1 = await RawClient.connect(b.address);
      const a2 = await RawClient.connect(b.address);
      const over = await closedWithin(b.port, 1000);
      assert.ok(over.closed && over.afterMs < 500, `closed=${over.closed} after ${over.afterMs} ms`);
      await apiVersions(a1);
      a1.close();
      await a1.closed;
      // The count follows closes.
      await new Promise((r) => setTimeout(r, 50));
      const a3 = await RawClient.connect(b.address);
      await apiVersions(a3);
      a2.close();
      a3.close();
    });
    await withBroker({ 'max.connections.per.ip': '1', 'max.connections.per.ip.overrides': '127.0.0.1:3' }, async (b) => {
      const cs = await Promise.all([1, 2, 3].map(() => RawClient.connect(b.address)));
      for (const c of cs) await apiVersions(c);
      assert.ok((await closedWithin(b.port, 1000)).closed);
      for (const c of cs) c.close();
    });
    assert.throws(() => parsePerIpOverrides('hostonly'), /expected host:count/);
    assert.deepEqual([...parsePerIpOverrides('10.0.0.1:5, ::1:7')], [['10.0.0.1', 5], ['::1', 7]]);
  });

  test('listener.name.<l>.max.connections caps one listener; the other still serves', async () => {
    await withBroker({
      listeners: 'PLAINTEXT://127.0.0.1:0,CLIENTS://127.0.0.1:0',
      'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CLIENTS:PLAINTEXT',
      'inter.broker.listener.name': 'PLAINTEXT',
      'listener.name.clients.max.connections': '1',
    }, async (b) => {
      const clients = b.listeners.find((l) => l.name === 'CLIENTS')!;
      const first = await RawClient.connect(`127.0.0.1:${clients.port}`);
      await apiVersions(first);
      assert.ok((await closedWithin(clients.port, 1000)).closed, 'second CLIENTS connection refused');
      const plain = b.listeners.find((l) => l.name === 'PLAINTEXT')!;
      const other = await RawClient.connect(`127.0.0.1:${plain.port}`);
      await apiVersions(other);
      first.close();
      other.close();
    });
  });

  test('max.connection.creation.rate (KIP-612): connections over the rate are served late, not refused', async () => {
    // 5/s over a 1 s padded window: the 10th connection of a burst waits (10-5)/5 × 1 s.
    await withBroker({ 'max.connection.creation.rate': '5', 'quota.window.num': '2', 'quota.window.size.seconds': '1' }, async (b) => {
      const t0 = Date.now();
      const clients = await Promise.all(Array.from({ length: 10 }, () => RawClient.connect(b.address)));
      const answered = await Promise.all(clients.map(async (c) => { await apiVersions(c); return Date.now() - t0; }));
      const sorted = [...answered].sort((a, b2) => a - b2);
      assert.ok(sorted[3]! < 400, `the first connections are served at once: ${sorted.join(',')}`);
      assert.ok(sorted[9]! >= 800, `the last connection waited out its throttle: ${sorted.join(',')}`);
      for (const c of clients) c.close();
    });
  });

  test('connection_creation_rate quota on an IP: connections over it are closed after the throttle time', async () => {
    await withBroker({ 'quota.window.num': '2', 'quota.window.size.seconds': '1' }, async (b) => {
      const admin = new Admin({ bootstrapServers: b.address, retries: 1 });
      await admin.connect();
      try {
        assert.equal((await admin.alterClientQuotas([{ entity: { ip: '127.0.0.1' }, ops: [{ key: 'connection_creation_rate', value: 3 }] }]))[0]!.error, null);
        // The admin's own connection counted as one; a burst goes over 3/s.
        const results = await Promise.all(Array.from({ length: 6 }, () => closedWithin(b.port, 2500)));
        const refused = results.filter((r) => r.closed);
        assert.ok(refused.length >= 2, `refused ${refused.length}`);
        assert.ok(refused.every((r) => r.afterMs >= 100), `closed after a delay: ${refused.map((r) => r.afterMs).join(',')}`);
        for (const r of results) r.socket.destroy();
        // Removing the quota lifts the limit.
        await admin.alterClientQuotas([{ entity: { ip: '127.0.0.1' }, ops: [{ key: 'connection_creation_rate', value: null }] }]);
        const c = await RawClient.connect(b.address);
        await apiVersions(c);
        c.close();
      } finally {
        await admin.close();
      }
    });
  });
});
