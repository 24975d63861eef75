// `_schemas` after the log cleaner compacted it (transactional batches, overwritten configs, soft deletes,
// tombstones of permanent deletes): a registry started on the compacted topic serves the same state.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Admin, Consumer, startBroker } from '../../../src/index.js';
import { startRegistry } from '../../../src/registry/index.js';

async function call(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return res.json();
}

const schema = (i: number) => JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }, ...Array.from({ length: i }, (_, j) => ({ name: `f${j}`, type: 'string', default: '' }))] });

test('a registry on a compacted _schemas serves what it served before compaction', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-registry-compaction-'));
  const broker = await startBroker({ port: 0, dataDir: dir, logLevel: 'silent', config: { 'log.cleaner.backoff.ms': '50', 'log.cleaner.delete.retention.ms': '0' } });
  const client = { bootstrapServers: broker.address };
  let registry = await startRegistry({ client, port: 0 });
  const admin = new Admin(client);
  try {
    await admin.connect();
    await admin.alterConfigs([{ type: 'topic', name: '_schemas', set: { 'segment.bytes': '1024', 'min.cleanable.dirty.ratio': '0.01', 'min.compaction.lag.ms': '0' } }]);
    const url = registry.url;
    for (let i = 0; i < 8; i++) await call(url, 'POST', '/subjects/kept/versions', { schema: schema(i) });
    for (let i = 0; i < 3; i++) await call(url, 'POST', '/subjects/soft/versions', { schema: schema(i + 20) });
    for (let i = 0; i < 2; i++) await call(url, 'POST', '/subjects/gone/versions', { schema: schema(i + 40) });
    for (const level of ['FULL', 'NONE', 'FORWARD', 'BACKWARD_TRANSITIVE', 'FULL', 'FORWARD_TRANSITIVE']) await call(url, 'PUT', '/config/kept', { compatibility: level });
    await call(url, 'DELETE', '/subjects/kept/versions/2');
    await call(url, 'DELETE', '/subjects/soft');
    await call(url, 'DELETE', '/subjects/gone');
    await call(url, 'DELETE', '/subjects/gone?permanent=true');
    // Roll the last segment with a few writes, so that every record above is below the active segment.
    for (let i = 0; i < 6; i++) await call(url, 'PUT', '/config', { compatibility: i % 2 === 0 ? 'NONE' : 'BACKWARD' });

    const snapshot = async (base: string) => ({
      subjects: await call(base, 'GET', '/subjects?deleted=true'),
      kept: await call(base, 'GET', '/subjects/kept/versions?deleted=true'),
      keptLive: await call(base, 'GET', '/subjects/kept/versions'),
      soft: await call(base, 'GET', '/subjects/soft/versions?deleted=true'),
      softLive: await call(base, 'GET', '/subjects/soft/versions'),
      gone: await call(base, 'GET', '/subjects/gone/versions?deleted=true'),
      config: await call(base, 'GET', '/config/kept'),
      global: await call(base, 'GET', '/config'),
      ids: await Promise.all(Array.from({ length: 14 }, (_, i) => call(base, 'GET', `/schemas/ids/${i + 1}`))),
    });
    const before = await snapshot(url);
    assert.deepEqual(before.keptLive, [1, 3, 4, 5, 6, 7, 8]);
    assert.equal(before.softLive.error_code, 40401);
    assert.equal(before.gone.error_code, 40401);

    // Wait (bounded) until the cleaner has removed overwritten records: the six CONFIG records of 'kept' become one.
    const written = (await admin.listOffsets([{ topic: '_schemas', partition: 0, timestamp: 'latest' }]))[0]!.offset;
    const keptConfigs = async (): Promise<number> => {
      const c = new Consumer({ ...client, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
      await c.connect();
      c.assign([{ topic: '_schemas', partition: 0 }]);
      let n = 0;
      for (let i = 0; i < 40 && (c.position({ topic: '_schemas', partition: 0 }) ?? 0) < written; i++) {
        n += (await c.poll(200)).filter((r) => r.key?.toString() === '{"keytype":"CONFIG","subject":"kept","magic":0}').length;
      }
      await c.close();
      return n;
    };
    assert.ok(await keptConfigs() >= 1);
    let configs = await keptConfigs();
    for (let i = 0; i < 50 && configs > 1; i++) {
      await new Promise((r) => setTimeout(r, 200));
      configs = await keptConfigs();
    }
    assert.equal(configs, 1, 'the cleaner kept only the last CONFIG record of kept');

    await registry.close();
    registry = await startRegistry({ client, port: 0 });
    assert.deepEqual(await snapshot(registry.url), before);
  } finally {
    await admin.close();
    await registry.close();
    await broker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
