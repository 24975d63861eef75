/**
 * A table replicated MariaDB → Tributary → SQLite by `tributary connect` (a mysql CDC source and an exactly-once
 * SQLite sink in CDC mode, one pipeline file) under a random workload of inserts, updates and deletes in
 * transactions of 1-5 changes, with the connect process SIGKILLed mid-stream and started again:
 *   - the SQLite table ends identical to the MariaDB one, row by row (no change lost);
 *   - the topic, read_committed, holds every change exactly once (exactly-once source after the kill);
 *   - no change was applied twice by the sink (SQLite triggers log each applied row version; none repeats).
 * Rows exist before the first start, so the run begins with a snapshot. TRIBUTARY_CDC_CHANGES sets the number of
 * changes (default 10,000; about 25 s on a laptop — lower it on a slow CI machine).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import type { TestDatabase } from './support/mariadb.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { startBinlogMariadb } from './support/mariadb-binlog.js';

const CHANGES = Number(process.env.TRIBUTARY_CDC_CHANGES ?? 10_000);
const IDS = 400;
const TOPIC = 'rep.tributary.items';

let db: TestDatabase;
let broker: TestBroker;
let dir: string;
before(async () => {
  [db, broker] = await Promise.all([startBinlogMariadb(), startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '1' })]);
  dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-rep-'));
});
after(async () => {
  await Promise.all([db?.stop(), broker?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Deterministic randomness (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function connect(file: string): { child: ChildProcess; exited: Promise<unknown>; stderr: () => string } {
  const child = spawn(process.execPath, [CLI_ENTRY, 'connect', file, '-b', broker.address, '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  return { child, exited: once(child, 'exit'), stderr: () => err };
}

async function topicEnd(isolationLevel: 'read_committed' | 'read_uncommitted'): Promise<number> {
  const admin = new Admin({ bootstrapServers: broker.address });
  try {
    const [end] = await admin.listOffsets([{ topic: TOPIC, partition: 0, timestamp: 'latest' }], { isolationLevel });
    return end.offset;
  } catch {
    return 0; // not created yet
  } finally {
    await admin.close();
  }
}

test(`MariaDB → Tributary → SQLite stays identical under ${CHANGES} random changes, with a kill -9 of connect mid-stream`, async () => {
  const conn = await mysql.createConnection(db.url);
  const sqlitePath = join(dir, 'replica.db');
  try {
    await conn.query('CREATE TABLE items (id INT PRIMARY KEY, ver INT NOT NULL, name VARCHAR(40) NOT NULL, amount DECIMAL(12,2), note TEXT)');
    // The replica: the same columns, and triggers that log every row version the sink applies.
    const replica = new Database(sqlitePath);
    replica.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, ver INTEGER NOT NULL, name TEXT NOT NULL, amount TEXT, note TEXT);
      CREATE TABLE applied (id INTEGER, ver INTEGER);
      CREATE TRIGGER items_ins AFTER INSERT ON items BEGIN INSERT INTO applied VALUES (new.id, new.ver); END;
      CREATE TRIGGER items_upd AFTER UPDATE ON items BEGIN INSERT INTO applied VALUES (new.id, new.ver); END;`);
    replica.close();
    const file = join(dir, 'pipelines.yaml');
    await writeFile(
      file,
      `pipelines:
  - name: rep-capture
    source: { type: mysql, url: "${db.url}", tables: [tributary.items], prefix: rep, serverId: 4242, guarantee: exactly-once }
  - name: rep-apply
    topic: ${TOPIC}
    sink: { type: sqlite, url: replica.db, table: items, cdc: true, guarantee: exactly-once, batchSize: 200 }
`,
    );

    // The workload: a version number per change, unique over the run, so each change is identifiable on the topic.
    const rnd = random(15);
    const live = new Set<number>();
    let ver = 0;
    const change = async (): Promise<void> => {
      const id = 1 + Math.floor(rnd() * IDS);
      ver++;
      if (!live.has(id)) {
        await conn.query('INSERT INTO items VALUES (?, ?, ?, ?, ?)', [id, ver, `item-${id}`, (rnd() * 1000).toFixed(2), rnd() < 0.3 ? null : `n${ver}`]);
        live.add(id);
      } else if (rnd() < 0.75) {
        await conn.query('UPDATE items SET ver = ?, amount = ?, note = ? WHERE id = ?', [ver, (rnd() * 1000).toFixed(2), rnd() < 0.3 ? null : `n${ver}`, id]);
      } else {
        await conn.query('DELETE FROM items WHERE id = ?', [id]);
        live.delete(id);
      }
    };
    const run = async (count: number): Promise<void> => {
      let done = 0;
      while (done < count) {
        const size = Math.min(count - done, 1 + Math.floor(rnd() * 5));
        await conn.query('BEGIN');
        for (let i = 0; i < size; i++) await change();
        await conn.query('COMMIT');
        done += size;
      }
    };
    const snapshotChanges = 300;
    await run(snapshotChanges);
    const [[{ n: snapshotRows }]] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM items');

    let proc = connect(file);
    // The snapshot first (no change races it), then changes while it streams.
    const snapDeadline = Date.now() + 30_000;
    while ((await topicEnd('read_committed')) < snapshotRows) {
      assert.ok(Date.now() < snapDeadline, `no snapshot\n${proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const third = Math.floor((CHANGES - snapshotChanges) / 3);
    await run(third);
    // Killed once records (and a committed transaction) are on the topic and the next transaction is open.
    const deadline = Date.now() + 30_000;
    while (!((await topicEnd('read_committed')) > 0 && (await topicEnd('read_uncommitted')) > (await topicEnd('read_committed')))) {
      assert.ok(Date.now() < deadline, `nothing to kill at\n${proc.stderr()}`);
      await run(5);
    }
    proc.child.kill('SIGKILL');
    await proc.exited;
    await run(third);
    proc = connect(file);
    await run(Math.max(0, CHANGES - ver));

    // Caught up: the replica equals the source, row by row.
    const [source] = await conn.query<mysql.RowDataPacket[]>('SELECT id, ver, name, amount, note FROM items ORDER BY id');
    const expected = source.map((r) => ({ ...r }));
    let actual: unknown[] = [];
    const until = Date.now() + 45_000;
    while (Date.now() < until) {
      const replicaDb = new Database(sqlitePath, { readonly: true, timeout: 5000 });
      try {
        actual = replicaDb.prepare('SELECT id, ver, name, amount, note FROM items ORDER BY id').all();
      } finally {
        replicaDb.close();
      }
      if (JSON.stringify(actual) === JSON.stringify(expected)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    proc.child.kill('SIGTERM');
    await proc.exited;
    assert.deepEqual(actual, expected, `replica differs\n${proc.stderr()}`);

    // The topic, read_committed: the snapshot rows, then every change of the stream exactly once.
    const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    const seen = new Map<string, number>();
    let snapshot = 0;
    try {
      await c.connect();
      c.assign([{ topic: TOPIC, partition: 0 }]);
      const end = await topicEnd('read_committed');
      while ((c.position({ topic: TOPIC, partition: 0 }) ?? 0) < end) {
        for (const r of await c.poll(500)) {
          if (r.value === null) continue;
          const v = JSON.parse(r.value.toString()) as { op: string; before: { ver: number } | null; after: { ver: number } | null };
          if (v.op === 'r') {
            snapshot++;
            continue;
          }
          const id = v.op === 'd' ? `d${v.before!.ver}` : `${v.op}${v.after!.ver}`;
          seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      }
    } finally {
      await c.close();
    }
    assert.equal(snapshot, snapshotRows);
    const twice = [...seen].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], 'changes on the topic more than once');
    assert.equal(seen.size, ver - snapshotChanges, 'every change after the snapshot on the topic');

    const replicaDb = new Database(sqlitePath, { readonly: true });
    try {
      const repeated = replicaDb.prepare('SELECT id, ver, COUNT(*) AS n FROM applied GROUP BY id, ver HAVING n > 1').all();
      assert.deepEqual(repeated, [], 'row versions applied twice');
    } finally {
      replicaDb.close();
    }
  } finally {
    await conn.end();
  }
});
