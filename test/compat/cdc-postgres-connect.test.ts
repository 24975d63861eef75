/**
 * PostgreSQL change data capture through the connect runtime and the in-process broker:
 *   - a `postgres` source pipeline: the snapshot, then changes on `<prefix>.<schema>.<table>` in Debezium's envelope
 *     (keys, tombstones, source fields); stopped, changed behind its back (ALTER TABLE too), started again: it
 *     resumes right after the stored offset, and the slot was confirmed only up to what was stored;
 *   - `tributary connect` (PostgreSQL → topic, exactly-once, → SQLite sink in CDC mode) SIGKILLed mid-stream and
 *     started again under a random workload: the replica equals the table row by row, every change is on the topic
 *     once (read_committed), none applied twice. TRIBUTARY_CDC_CHANGES sets the number of changes (default 2,000).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Admin } from '../../src/client/admin.js';
import { Consumer } from '../../src/client/consumer.js';
import { parsePipeline } from '../../src/connect/config.js';
import { runSourcePipeline } from '../../src/connect/source-runtime.js';
import { parseLsn } from '../../src/connect/cdc/postgres.js';
import type { PipelineConfig } from '../../src/connect/types.js';
import { CLI_ENTRY } from '../helpers/cli.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import type { TestDatabase } from './support/db-server.js';
import { startPostgres } from './support/postgres.js';

const CHANGES = Number(process.env.TRIBUTARY_CDC_CHANGES ?? 2_000);
const IDS = 300;

let db: TestDatabase;
let broker: TestBroker;
let app: pg.Client;
let dir: string;

before(async () => {
  [db, broker] = await Promise.all([
    startPostgres({ serverArgs: ['-c', 'wal_level=logical'] }),
    startTestBroker({ 'group.initial.rebalance.delay.ms': '0', 'num.partitions': '1' }),
  ]);
  const admin = new pg.Client({ connectionString: db.adminUrl });
  await admin.connect();
  await admin.query('ALTER ROLE tributary REPLICATION');
  await admin.end();
  app = new pg.Client({ connectionString: db.url });
  await app.connect();
  dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-pg-'));
});

after(async () => {
  await app?.end();
  await Promise.all([db?.stop(), broker?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

interface Change {
  key: unknown;
  op: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source?: Record<string, unknown>;
}

async function topicEnd(topic: string, isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<number> {
  const admin = new Admin({ bootstrapServers: broker.address });
  try {
    const [end] = await admin.listOffsets([{ topic, partition: 0, timestamp: 'latest' }], { isolationLevel });
    return end!.offset;
  } catch {
    return 0; // not created yet
  } finally {
    await admin.close();
  }
}

/** Every record of the topic once it holds `count` (read_committed); more than `count` fails. */
async function readChanges(topic: string, count: number, timeoutMs = 30_000): Promise<Change[]> {
  const deadline = Date.now() + timeoutMs;
  while ((await topicEnd(topic)) < count) {
    if (Date.now() > deadline) throw new Error(`${topic} holds ${await topicEnd(topic)} of ${count} records`);
    await new Promise((r) => setTimeout(r, 100));
  }
  await new Promise((r) => setTimeout(r, 300)); // anything extra would be there now
  const end = await topicEnd(topic);
  assert.equal(end, count, `records on ${topic}`);
  const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
  try {
    await c.connect();
    c.assign([{ topic, partition: 0 }]);
    const out: Change[] = [];
    while ((c.position({ topic, partition: 0 }) ?? 0) < end) {
      for (const r of await c.poll(500)) {
        const v = r.value === null ? null : (JSON.parse(r.value.toString()) as { op: string; before: Change['before']; after: Change['after']; source: Record<string, unknown> });
        out.push({ key: r.key === null ? null : JSON.parse(r.key.toString()), op: v?.op ?? null, before: v?.before ?? null, after: v?.after ?? null, ...(v ? { source: v.source } : {}) });
      }
    }
    return out;
  } finally {
    await c.close();
  }
}

async function slotConfirmed(slot: string): Promise<bigint> {
  const { rows } = await app.query<{ lsn: string }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return parseLsn(rows[0]!.lsn);
}

test('a postgres source pipeline: snapshot and changes on <prefix>.<schema>.<table>; a restart resumes after the stored offset', async () => {
  await app.query('CREATE TABLE orders (id INT PRIMARY KEY, item TEXT NOT NULL, total NUMERIC(10,2))');
  await app.query("INSERT INTO orders VALUES (1, 'apple', 9.50), (2, 'pear', 3.00)");
  const p: PipelineConfig = parsePipeline({ name: 'shop', source: { type: 'postgres', url: db.url, tables: ['public.orders'] } }, 0, process.cwd());
  const topic = 'shop.public.orders';
  const runFor = async (during: () => Promise<void>): Promise<void> => {
    const stop = new AbortController();
    const run = runSourcePipeline(p, { bootstrapServers: broker.address }, { signal: stop.signal, stream: devNull });
    try {
      await during();
    } finally {
      stop.abort();
      await run;
    }
  };

  await runFor(async () => {
    await readChanges(topic, 2); // the snapshot is on the topic before the changes start
    await app.query("INSERT INTO orders VALUES (3, 'plum', 1.25)");
    await app.query('BEGIN');
    await app.query('UPDATE orders SET total = 10 WHERE id = 1');
    await app.query('DELETE FROM orders WHERE id = 2');
    await app.query('COMMIT');
    await readChanges(topic, 6);
  });
  const first = await readChanges(topic, 6);
  assert.deepEqual(
    first.map(({ key, op, before, after }) => ({ key, op, before, after })),
    [
      { key: { id: 1 }, op: 'r', before: null, after: { id: 1, item: 'apple', total: '9.50' } },
      { key: { id: 2 }, op: 'r', before: null, after: { id: 2, item: 'pear', total: '3.00' } },
      { key: { id: 3 }, op: 'c', before: null, after: { id: 3, item: 'plum', total: '1.25' } },
      { key: { id: 1 }, op: 'u', before: null, after: { id: 1, item: 'apple', total: '10.00' } },
      { key: { id: 2 }, op: 'd', before: { id: 2 }, after: null },
      { key: { id: 2 }, op: null, before: null, after: null }, // the tombstone
    ],
  );
  const src = first[3]!.source!;
  assert.deepEqual(
    [src.connector, src.name, src.db, src.schema, src.table, src.snapshot, typeof src.lsn, typeof src.txId],
    ['postgresql', 'shop', 'tributary', 'public', 'orders', 'false', 'number', 'number'],
  );
  assert.equal(first[1]!.source!.snapshot, 'last');
  assert.equal(first[3]!.source!.txId, first[4]!.source!.txId, 'one transaction');
  // Stored, so acknowledged: the slot is past the last change's transaction.
  assert.ok((await slotConfirmed('tributary_shop')) > BigInt(first[4]!.source!.lsn as number));

  // Behind its back: a change, a new column, a change using it.
  await app.query("UPDATE orders SET item = 'plum!' WHERE id = 3");
  await app.query("ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'new'");
  await app.query("INSERT INTO orders (id, item, total, status) VALUES (4, 'fig', 2, 'paid')");
  await runFor(async () => void (await readChanges(topic, 8)));
  const all = await readChanges(topic, 8);
  assert.deepEqual(
    all.slice(6).map(({ op, after }) => [op, after]),
    [
      ['u', { id: 3, item: 'plum!', total: '1.25' }],
      ['c', { id: 4, item: 'fig', total: '2.00', status: 'paid' }],
    ],
  );
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
  const child = spawn(process.execPath, [CLI_ENTRY, 'connect', file, '-b', broker.address, '-X', 'session.timeout.ms=6000', '-X', 'heartbeat.interval.ms=500'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-8000)));
  return { child, exited: once(child, 'exit'), stderr: () => err };
}

test(`PostgreSQL → Tributary → SQLite stays identical under ${CHANGES} random changes, with a kill -9 of connect mid-stream`, async () => {
  const TOPIC = 'rep.public.items';
  // FULL: a delete's before image carries the version, so each change is identifiable on the topic.
  await app.query('CREATE TABLE items (id INT PRIMARY KEY, ver INT NOT NULL, name TEXT NOT NULL, amount INT, note TEXT)');
  await app.query('ALTER TABLE items REPLICA IDENTITY FULL');
  const sqlitePath = join(dir, 'replica.db');
  const replica = new Database(sqlitePath);
  replica.exec(`CREATE TABLE items (id INTEGER PRIMARY KEY, ver INTEGER NOT NULL, name TEXT NOT NULL, amount INTEGER, note TEXT);
    CREATE TABLE applied (id INTEGER, ver INTEGER);
    CREATE TRIGGER items_ins AFTER INSERT ON items BEGIN INSERT INTO applied VALUES (new.id, new.ver); END;
    CREATE TRIGGER items_upd AFTER UPDATE ON items BEGIN INSERT INTO applied VALUES (new.id, new.ver); END;`);
  replica.close();
  const file = join(dir, 'pipelines.yaml');
  await writeFile(
    file,
    `pipelines:
  - name: rep-capture
    source: { type: postgres, url: "${db.url}", tables: [public.items], prefix: rep, guarantee: exactly-once }
  - name: rep-apply
    topic: ${TOPIC}
    sink: { type: sqlite, url: replica.db, table: items, cdc: true, guarantee: exactly-once, batchSize: 200 }
`,
  );

  const rnd = random(15);
  const live = new Set<number>();
  let ver = 0;
  const change = async (): Promise<void> => {
    const id = 1 + Math.floor(rnd() * IDS);
    ver++;
    const note = rnd() < 0.3 ? null : `n${ver}`;
    if (!live.has(id)) {
      await app.query('INSERT INTO items VALUES ($1, $2, $3, $4, $5)', [id, ver, `item-${id}`, Math.floor(rnd() * 1000), note]);
      live.add(id);
    } else if (rnd() < 0.75) {
      await app.query('UPDATE items SET ver = $1, amount = $2, note = $3 WHERE id = $4', [ver, Math.floor(rnd() * 1000), note, id]);
    } else {
      await app.query('DELETE FROM items WHERE id = $1', [id]);
      live.delete(id);
    }
  };
  const run = async (count: number): Promise<void> => {
    let done = 0;
    while (done < count) {
      const size = Math.min(count - done, 1 + Math.floor(rnd() * 5));
      await app.query('BEGIN');
      for (let i = 0; i < size; i++) await change();
      await app.query('COMMIT');
      done += size;
    }
  };
  const snapshotChanges = 200;
  await run(snapshotChanges);
  const snapshotRows = live.size;

  let proc = connect(file);
  try {
    const snapDeadline = Date.now() + 30_000;
    while ((await topicEnd(TOPIC)) < snapshotRows) {
      assert.ok(Date.now() < snapDeadline, `no snapshot\n${proc.stderr()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const third = Math.floor((CHANGES - snapshotChanges) / 3);
    await run(third);
    // Killed once records (and a committed transaction) are on the topic and the next transaction is open.
    const deadline = Date.now() + 30_000;
    while (!((await topicEnd(TOPIC)) > snapshotRows && (await topicEnd(TOPIC, 'read_uncommitted')) > (await topicEnd(TOPIC)))) {
      assert.ok(Date.now() < deadline, `nothing to kill at\n${proc.stderr()}`);
      await run(5);
    }
    proc.child.kill('SIGKILL');
    await proc.exited;
    await run(third);
    // The killed process's walsender lets go of the slot once PostgreSQL sees the socket closed.
    const idle = Date.now() + 20_000;
    while ((await app.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'tributary_rep_capture' AND active_pid IS NOT NULL")).rowCount) {
      assert.ok(Date.now() < idle, 'the slot stays active after the kill');
      await new Promise((r) => setTimeout(r, 100));
    }
    proc = connect(file);
    await run(Math.max(0, CHANGES - ver));

    const expected = (await app.query('SELECT id, ver, name, amount, note FROM items ORDER BY id')).rows.map((r: Record<string, unknown>) => ({ ...r }));
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
    assert.deepEqual(actual, expected, `replica differs\n${proc.stderr()}`);
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }

  // The topic, read_committed: the snapshot rows, then every change exactly once.
  const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
  const seen = new Map<string, number>();
  let snapshot = 0;
  try {
    await c.connect();
    c.assign([{ topic: TOPIC, partition: 0 }]);
    const end = await topicEnd(TOPIC);
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
  assert.deepEqual([...seen].filter(([, n]) => n > 1), [], 'changes on the topic more than once');
  assert.equal(seen.size, ver - snapshotChanges, 'every change after the snapshot on the topic');
  const replicaDb = new Database(sqlitePath, { readonly: true });
  try {
    assert.deepEqual(replicaDb.prepare('SELECT id, ver, COUNT(*) AS n FROM applied GROUP BY id, ver HAVING n > 1').all(), [], 'row versions applied twice');
  } finally {
    replicaDb.close();
  }
});
