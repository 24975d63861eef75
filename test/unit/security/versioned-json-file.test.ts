import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VersionedJsonFile, type VersionedJsonFormat } from '../../../src/security/versioned-json-file.js';

interface Entry { name: string; n: number }
const format: VersionedJsonFormat<Entry> = {
  field: 'entries',
  keyOf: (e) => e.name,
  toJson: (e) => ({ name: e.name, n: e.n }),
  fromJson: (v) => {
    const o = v as Partial<Entry> | null;
    if (typeof o?.name !== 'string' || typeof o.n !== 'number') throw new Error(`not an entry: ${JSON.stringify(v)}`);
    return { name: o.name, n: o.n };
  },
};

test('versioned JSON file: missing is empty; updates by key are written and read back; bad files are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-vjson-'));
  try {
    const file = join(dir, 'x.json');
    const a = new VersionedJsonFile(file, format);
    assert.deepEqual(await a.load(), []);
    await a.update((next) => { next.set('a', { name: 'a', n: 1 }); next.set('b', { name: 'b', n: 2 }); });
    await a.update((next) => { next.delete('a'); next.set('b', { name: 'b', n: 3 }); });
    assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { version: 1, entries: [{ name: 'b', n: 3 }] });
    assert.deepEqual(await new VersionedJsonFile(file, format).load(), [{ name: 'b', n: 3 }]);

    await writeFile(file, '{"version":1,');
    await assert.rejects(new VersionedJsonFile(file, format).load(), (e: Error) => e.message.startsWith(`${file} is not valid JSON`));
    for (const body of ['{"version":2,"entries":[]}', '{"version":1}', 'null']) {
      await writeFile(file, body);
      await assert.rejects(new VersionedJsonFile(file, format).load(), { message: `${file}: unsupported format (expected version 1)` });
    }
    await writeFile(file, '{"version":1,"entries":[{"name":"c"}]}');
    await assert.rejects(new VersionedJsonFile(file, format).load(), /not an entry/);

    // A write that fails leaves the entries as they were.
    const gone = new VersionedJsonFile(join(dir, 'no-such-dir', 'y.json'), format);
    await assert.rejects(gone.update((next) => { next.set('a', { name: 'a', n: 1 }); }), { code: 'ENOENT' });
    let seen = -1;
    await assert.rejects(gone.update((next) => { seen = next.size; throw new Error('stop'); }), /stop/);
    assert.equal(seen, 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
