/**
 * The experiment's SQLite loader and a database another connection holds: SQLITE_BUSY answered at once (here
 * with busy_timeout 0, as SQLite does when a busy wait could deadlock) is retried with backoff until the lock
 * goes, and the wait falls inside the timed write — what the locked-ingest run counts as the loader's stall.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../../src/experiment/db.js';
import { generateRows } from '../../../src/experiment/data.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-experiment-busy-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('a SQLite write answered SQLITE_BUSY at once is retried with backoff until the lock holder commits', { timeout: 30_000 }, async () => {
  const data = generateRows(1200);
  const cols = data.columns.map((c) => c.name);
  const db = await openDb({ kind: 'sqlite', url: join(dir, 'busy.db') });
  try {
    await db.recreate('t', data.columns);
    // No busy wait: every lock conflict surfaces as SQLITE_BUSY at once, as in a lock upgrade SQLite refuses to wait for.
    await db.query('PRAGMA busy_timeout = 0');

    await db.insertBatch('t', cols, data.rows.slice(0, 500));
    assert.equal(db.busyRetries, 0, 'no retry while nobody holds the database');

    // Another connection (its own thread, the experiment's lock holder) takes BEGIN EXCLUSIVE for 400 ms.
    const lock = await db.prepareLock('t', 400);
    await lock.take();
    const t0 = performance.now();
    await db.insertBatch('t', cols, data.rows.slice(500, 1000));
    const waited = performance.now() - t0;
    const held = await lock.released;
    assert.ok(db.busyRetries >= 2, `retried ${db.busyRetries} times`);
    // The write went through only once the lock was gone: the wait is in its time.
    assert.ok(waited >= held - 150, `the write took ${waited.toFixed(0)} ms, the lock was held ${held.toFixed(0)} ms`);
    await db.insertRow('t', cols, data.rows[1000]);
    assert.equal(await db.count('t'), 1001, 'every row once: a retried transaction was rolled back before it ran again');
  } finally {
    await db.close();
  }
});
