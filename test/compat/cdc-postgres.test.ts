/**
 * Change data capture from a real PostgreSQL (wal_level=logical) through PostgresCdcSource, driven directly:
 * snapshot then streaming (and changes committed during the snapshot, neither missed nor doubled), before/after
 * images under REPLICA IDENTITY DEFAULT and FULL, ALTER TABLE, value types, offsets and acknowledgements across
 * restarts (checked against the slot's confirmed_flush_lsn), and a reader process SIGKILLed mid-stream that resumes
 * from its last stored offset without losing or repeating a change.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { CdcOffset, ChangeEvent } from '../../src/connect/cdc/change-event.js';
import { parseLsn, PostgresCdcSource, type PostgresCdcOptions } from '../../src/connect/cdc/postgres.js';
import type { TestDatabase } from './support/db-server.js';
import { startPostgres } from './support/postgres.js';

const LOGICAL = ['-c', 'wal_level=logical', '-c', 'max_replication_slots=10', '-c', 'max_wal_senders=10'];

let db: TestDatabase;
let app: pg.Client;

before(async () => {
  db = await startPostgres({ serverArgs: LOGICAL });
  await admin('ALTER ROLE tributary REPLICATION');
  app = new pg.Client({ connectionString: db.url });
  await app.connect();
});

after(async () => {
  await app?.end();
  await db?.stop();
});

async function admin(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: db.adminUrl });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

async function exec(...statements: string[]): Promise<void> {
  for (const s of statements) await app.query(s);
}

/** Reads a source's events with a deadline per call. */
class Reader {
  private readonly it: AsyncIterator<ChangeEvent>;
  constructor(readonly source: PostgresCdcSource, offset: CdcOffset | null) {
    this.it = source.events(offset)[Symbol.asyncIterator]();
  }
  async take(n: number, timeoutMs = 20_000): Promise<ChangeEvent[]> {
    const out: ChangeEvent[] = [];
    const deadline = Date.now() + timeoutMs;
    while (out.length < n) {
      let timer: NodeJS.Timeout | undefined;
      const next = await Promise.race([
        this.it.next(),
        new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now())))),
      ]);
      clearTimeout(timer);
      if (next === 'timeout') throw new Error(`only ${out.length} of ${n} events within ${timeoutMs} ms: ${JSON.stringify(out.map(brief))}`);
      if (next.done) throw new Error(`events ended after ${out.length} of ${n}`);
      out.push(next.value);
    }
    return out;
  }
}

function source(name: string, tables: string[], extra: Partial<PostgresCdcOptions> = {}): PostgresCdcSource {
  return new PostgresCdcSource({ url: db.url, slot: `slot_${name}`, publication: `pub_${name}`, tables, ...extra });
}

function brief(e: ChangeEvent): string {
  return `${e.op} ${e.table} ${JSON.stringify(e.before)} → ${JSON.stringify(e.after)}`;
}

async function slotConfirmed(slot: string): Promise<bigint> {
  const { rows } = await admin('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return parseLsn((rows[0] as { lsn: string }).lsn);
}

async function slotIdle(slot: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const { rows } = await admin('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if ((rows[0] as { active_pid: number | null } | undefined)?.active_pid == null) return;
    if (Date.now() > deadline) throw new Error(`slot ${slot} still active`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('snapshot of existing rows, then inserts, updates, deletes and ALTER TABLE in commit order (REPLICA IDENTITY DEFAULT and FULL)', async () => {
  await exec(
    'CREATE TABLE orders (id INT PRIMARY KEY, item TEXT NOT NULL, qty INT)',
    "INSERT INTO orders VALUES (1, 'apple', 3), (2, 'pear', 5)",
    'CREATE TABLE audit (id INT PRIMARY KEY, name TEXT)',
    'ALTER TABLE audit REPLICA IDENTITY FULL',
    "INSERT INTO audit VALUES (1, 'a')",
  );
  const notes: string[] = [];
  const src = source('order', ['orders', 'public.audit'], { log: (m) => notes.push(m) });
  const reader = new Reader(src, null);
  try {
    const snap = await reader.take(3);
    assert.deepEqual(
      snap.map((e) => [e.op, e.table, e.after, e.before, e.snapshot]),
      [
        ['r', 'audit', { id: 1, name: 'a' }, null, 'true'],
        ['r', 'orders', { id: 1, item: 'apple', qty: 3 }, null, 'true'],
        ['r', 'orders', { id: 2, item: 'pear', qty: 5 }, null, 'last'],
      ],
    );
    assert.deepEqual(snap[1]!.keyColumns, ['id']);
    assert.equal(snap[0]!.offset.snapshot, true);
    assert.equal(snap[2]!.offset.snapshot, undefined, 'the last snapshot row marks the snapshot done');
    assert.equal(snap[2]!.sourceFields.db, 'tributary');
    assert.ok(notes.some((n) => /created publication pub_order/.test(n)) && notes.some((n) => /created replication slot slot_order/.test(n)), notes.join('\n'));

    const t0 = Date.now();
    await exec(
      "INSERT INTO orders VALUES (3, 'plum', 1)",
      'UPDATE orders SET qty = 4 WHERE id = 1',
      'DELETE FROM orders WHERE id = 2',
      'UPDATE orders SET id = 10 WHERE id = 3',
      "UPDATE audit SET name = 'b' WHERE id = 1",
      'DELETE FROM audit WHERE id = 1',
      'ALTER TABLE orders ADD COLUMN note TEXT',
      "INSERT INTO orders VALUES (5, 'fig', 2, 'fresh')",
      'BEGIN',
      "INSERT INTO orders VALUES (6, 'kiwi', 1, NULL)",
      "UPDATE orders SET note = 'ripe' WHERE id = 6",
      'COMMIT',
      'TRUNCATE audit',
      "INSERT INTO orders VALUES (7, 'lime', 9, NULL)",
    );
    const got = await reader.take(10);
    assert.deepEqual(
      got.map((e) => [e.op, e.table, e.before, e.after]),
      [
        ['c', 'orders', null, { id: 3, item: 'plum', qty: 1 }],
        // DEFAULT: no before image for an update that keeps the key; the key only for a delete.
        ['u', 'orders', null, { id: 1, item: 'apple', qty: 4 }],
        ['d', 'orders', { id: 2 }, null],
        // DEFAULT, key changed: the old key.
        ['u', 'orders', { id: 3 }, { id: 10, item: 'plum', qty: 1 }],
        // FULL: whole rows.
        ['u', 'audit', { id: 1, name: 'a' }, { id: 1, name: 'b' }],
        ['d', 'audit', { id: 1, name: 'b' }, null],
        // After ALTER TABLE: the new column.
        ['c', 'orders', null, { id: 5, item: 'fig', qty: 2, note: 'fresh' }],
        ['c', 'orders', null, { id: 6, item: 'kiwi', qty: 1, note: null }],
        ['u', 'orders', null, { id: 6, item: 'kiwi', qty: 1, note: 'ripe' }],
        // TRUNCATE skipped.
        ['c', 'orders', null, { id: 7, item: 'lime', qty: 9, note: null }],
      ],
    );
    assert.equal(src.truncatesSkipped, 1);
    assert.ok(notes.some((n) => /TRUNCATE of public.audit skipped/.test(n)));
    for (const e of got) {
      assert.equal(e.snapshot, 'false');
      assert.deepEqual(e.keyColumns, ['id']);
      assert.ok(e.sourceTsMs >= t0 - 5000 && e.sourceTsMs <= Date.now() + 5000, `commit time ${e.sourceTsMs}`);
      assert.equal(e.sourceFields.txId, Number(e.transactionId));
    }
    // One transaction: one commit LSN and xid, events numbered in it; separate transactions: increasing LSNs.
    const [kiwi, ripe] = [got[7]!, got[8]!];
    assert.equal(kiwi.offset.lsn, ripe.offset.lsn);
    assert.equal(kiwi.transactionId, ripe.transactionId);
    assert.deepEqual([kiwi.offset.event, ripe.offset.event], [0, 1]);
    assert.ok((kiwi.sourceFields.lsn as number) < (ripe.sourceFields.lsn as number), 'source.lsn: each change its own position');
    assert.ok(BigInt(ripe.sourceFields.lsn as number) < parseLsn(ripe.offset.lsn as string), 'before its commit');
    const lsns = got.map((e) => parseLsn(e.offset.lsn as string));
    for (let i = 1; i < lsns.length; i++) assert.ok(lsns[i]! >= lsns[i - 1]!, 'commit LSNs never go back');
    assert.ok(lsns[0]! > parseLsn(snap[2]!.offset.lsn as string), 'streaming starts after the snapshot point');
  } finally {
    await src.stop();
  }
});

test('changes made while the snapshot is read are neither missed nor doubled (the slot\'s exported snapshot)', async () => {
  await exec('CREATE TABLE ledger (id INT PRIMARY KEY, ver INT NOT NULL)', 'INSERT INTO ledger SELECT g, 0 FROM generate_series(1, 1000) g');
  // A small fetch size: the snapshot takes many round trips while the writer commits.
  const src = source('ledger', ['ledger'], { snapshotFetchSize: 20 });
  const reader = new Reader(src, null);
  let writing = true;
  let ver = 0;
  const writer = (async () => {
    const w = new pg.Client({ connectionString: db.url });
    await w.connect();
    try {
      // Until the snapshot is over, then a bounded tail.
      for (let i = 0; i < 3000 && (writing || i % 100 !== 0); i++) {
        ver++;
        if (ver % 5 === 0) await w.query('INSERT INTO ledger VALUES ($1, $2)', [1000 + ver, ver]);
        else await w.query('UPDATE ledger SET ver = $1 WHERE id = $2', [ver, 1 + (ver * 7919) % 1000]);
      }
    } finally {
      await w.end();
    }
  })();
  const state = new Map<number, number>();
  const versions = new Set<string>();
  let verAtFirst = -1;
  let verAtLast = -1;
  let streamed = 0;
  try {
    let snapshotDone = false;
    for (;;) {
      const [e] = await reader.take(1);
      if (verAtFirst < 0) verAtFirst = ver;
      if (e!.snapshot === 'false') streamed++;
      const row = (e!.after ?? e!.before)!;
      const key = `${row.id as number}@${row.ver as number}`;
      assert.ok(!versions.has(key), `${key} twice`);
      versions.add(key);
      state.set(row.id as number, row.ver as number);
      if (e!.snapshot === 'last') {
        verAtLast = ver;
        snapshotDone = true;
        writing = false;
      }
      if (snapshotDone && !writing) {
        // Caught up once the writer is done and the table equals what the events built.
        const doneWriting = await Promise.race([writer.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 0))]);
        if (doneWriting) {
          const { rows } = await app.query<{ id: number; ver: number }>('SELECT id, ver FROM ledger');
          if (rows.length === state.size && rows.every((r) => state.get(r.id) === r.ver)) break;
        }
      }
    }
    assert.ok(verAtLast > verAtFirst, `changes committed while the snapshot was read (${verAtFirst} → ${verAtLast})`);
    assert.ok(streamed > 0);
  } finally {
    writing = false;
    await writer;
    await src.stop();
  }
});

test('values: int8 as a string only when a double would not hold it, numeric as its decimal string, ISO timestamps, bytea base64, json as its text', async () => {
  await exec(
    `CREATE TABLE kinds (id BIGINT PRIMARY KEY, big BIGINT, n NUMERIC, n2 NUMERIC(30,10), f DOUBLE PRECISION, fnan REAL,
       ts TIMESTAMPTZ, t TIMESTAMP, d DATE, b BYTEA, j JSONB, js JSON, flag BOOLEAN, arr INT[], u UUID, s SMALLINT)`,
  );
  const insert = (id: number): string =>
    `INSERT INTO kinds VALUES (${id}, 9007199254740993, 12.5, 12345678901234567890.0123456789, 1.25, 'NaN',
       '2024-05-06 07:08:09.123456+02', '2024-05-06 07:08:09.5', '2024-05-06', '\\x00ff10', '{"a": [1, "x", null]}',
       '{"b": true}', true, '{1,2,3}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', -7)`;
  await exec(insert(1));
  const src = source('kinds', ['kinds']);
  const reader = new Reader(src, null);
  try {
    const [snap] = await reader.take(1);
    await exec(insert(2));
    const [streamed] = await reader.take(1);
    const expected = {
      big: '9007199254740993', n: '12.5', n2: '12345678901234567890.0123456789', f: 1.25, fnan: 'NaN',
      ts: '2024-05-06T05:08:09.123456Z', t: '2024-05-06T07:08:09.5', d: '2024-05-06',
      b: Buffer.from([0x00, 0xff, 0x10]).toString('base64'), j: '{"a": [1, "x", null]}', js: '{"b": true}', flag: true,
      arr: [1, 2, 3], u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', s: -7,
    };
    assert.deepEqual(snap!.after, { id: 1, ...expected }, 'snapshot');
    assert.deepEqual(streamed!.after, { id: 2, ...expected }, 'streaming maps values the same way');
  } finally {
    await src.stop();
  }
});

test('every other common type gives the same JSON from the snapshot and from the stream', async () => {
  await exec(
    "CREATE TYPE mood AS ENUM ('sad', 'happy')",
    `CREATE TABLE more (id INT PRIMARY KEY, i8 BIGINT[], nums NUMERIC[], texts TEXT[], c CHAR(3), vc VARCHAR(5), r REAL,
       tm TIME, ttz TIMETZ, iv INTERVAL, m mood, ip INET, pt POINT, tsa TIMESTAMPTZ[], jb JSONB, x XML, bits BIT(4),
       ts_inf TIMESTAMPTZ, neg NUMERIC, nul TEXT)`,
  );
  const insert = (id: number): string =>
    `INSERT INTO more VALUES (${id}, '{1,9223372036854775807}', '{1.5,NaN}', '{a,"b c",NULL}', 'ab', 'hé', 0.1,
       '13:14:15.5', '13:14:15+02', '1 day 02:03:04', 'happy', '10.0.0.1/8', '(1.5,2)',
       '{"2024-01-01 00:00:00+00"}', '[1, 2.5, "x", {"k": false}]', '<a>1</a>', B'1010', 'infinity', -0.5, NULL)`;
  await exec(insert(1));
  const src = source('more', ['more']);
  const reader = new Reader(src, null);
  try {
    const [snap] = await reader.take(1);
    await exec(insert(2));
    const [streamed] = await reader.take(1);
    const { id: _a, ...fromSnapshot } = snap!.after!;
    const { id: _b, ...fromStream } = streamed!.after!;
    assert.deepEqual(fromStream, fromSnapshot);
    assert.deepEqual(
      [fromSnapshot.c, fromSnapshot.vc, fromSnapshot.r, fromSnapshot.iv, fromSnapshot.m, fromSnapshot.jb, fromSnapshot.ts_inf, fromSnapshot.neg, fromSnapshot.nul],
      ['ab ', 'hé', 0.1, 'P1DT2H3M4S', 'happy', '[1, 2.5, "x", {"k": false}]', 'infinity', '-0.5', null],
    );
    assert.deepEqual(fromSnapshot.texts, ['a', 'b c', null]);
    assert.deepEqual([fromSnapshot.i8, fromSnapshot.nums, fromSnapshot.tsa], [[1, '9223372036854775807'], ['1.5', 'NaN'], ['2024-01-01T00:00:00Z']]);
  } finally {
    await src.stop();
  }
});

test('an unchanged TOASTed value is left out of an update\'s after image (DEFAULT), and filled in from the before image (FULL)', async () => {
  await exec('CREATE TABLE docs (id INT PRIMARY KEY, body TEXT, n INT)');
  const src = source('docs', ['docs']);
  const reader = new Reader(src, null);
  try {
    await exec("INSERT INTO docs SELECT 1, string_agg(md5(g::text), ''), 1 FROM generate_series(1, 400) g");
    const [created] = await reader.take(1);
    const body = created!.after!.body as string;
    assert.equal(body.length, 400 * 32);
    await exec('UPDATE docs SET n = 2');
    const [defaultIdentity] = await reader.take(1);
    assert.deepEqual([defaultIdentity!.before, defaultIdentity!.after], [null, { id: 1, n: 2 }], 'body unchanged and out of line: not sent');
    await exec('ALTER TABLE docs REPLICA IDENTITY FULL', 'UPDATE docs SET n = 3');
    const [full] = await reader.take(1);
    assert.deepEqual([full!.before, full!.after], [{ id: 1, body, n: 2 }, { id: 1, body, n: 3 }]);
  } finally {
    await src.stop();
  }
});

test('restart from a stored offset: what was not acknowledged comes again, what was does not; the slot moves only on acknowledge', async () => {
  await exec('CREATE TABLE items (id INT PRIMARY KEY, v TEXT)');
  const first = source('items', ['items']);
  let reader = new Reader(first, null);
  let confirmedAtStart: bigint;
  let events: ChangeEvent[];
  try {
    await exec("INSERT INTO items VALUES (0, 'seed')");
    const [seed] = await reader.take(1);
    assert.equal(seed!.op, 'r');
    confirmedAtStart = await slotConfirmed('slot_items');
    await exec(
      'BEGIN', "INSERT INTO items VALUES (1, 'a')", "INSERT INTO items VALUES (2, 'b')", "INSERT INTO items VALUES (3, 'c')", 'COMMIT',
      'BEGIN', "INSERT INTO items VALUES (4, 'd')", "INSERT INTO items VALUES (5, 'e')", 'COMMIT',
    );
    events = await reader.take(5);
    assert.deepEqual(events.map((e) => e.after!.id), [1, 2, 3, 4, 5]);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await slotConfirmed('slot_items'), confirmedAtStart, 'receiving confirms nothing');
    // Stored up to the middle of the first transaction.
    first.acknowledge(seed!.offset);
    first.acknowledge(events[1]!.offset);
  } finally {
    await first.stop();
  }
  const tx1 = parseLsn(events[0]!.offset.lsn as string);
  assert.equal(await slotConfirmed('slot_items'), tx1, 'a partly stored transaction: its commit LSN (sent again on restart)');

  await slotIdle('slot_items');
  const second = source('items', ['items']);
  reader = new Reader(second, events[1]!.offset);
  try {
    const again = await reader.take(3);
    assert.deepEqual(again.map((e) => e.after!.id), [3, 4, 5], 'the unacknowledged events, and only those');
    assert.deepEqual(again.map((e) => e.offset), events.slice(2).map((e) => e.offset), 'with the same offsets');
    second.acknowledge(again[2]!.offset); // the whole second transaction stored
    await exec("INSERT INTO items VALUES (6, 'f')");
    const [six] = await reader.take(1);
    assert.equal(six!.after!.id, 6);
  } finally {
    await second.stop();
  }
  assert.ok(await slotConfirmed('slot_items') > parseLsn(events[4]!.offset.lsn as string), 'a fully stored transaction: past its end');

  await slotIdle('slot_items');
  const third = source('items', ['items']);
  reader = new Reader(third, events[4]!.offset);
  try {
    const [next] = await reader.take(1);
    assert.equal(next!.after!.id, 6, 'acknowledged events do not come again; 6 was never acknowledged');
  } finally {
    await third.stop();
  }
});

test('idle with everything stored: the slot follows the server, so WAL of other tables is not kept for it', async () => {
  await exec('CREATE TABLE quiet (id INT PRIMARY KEY)', 'CREATE TABLE busy (id INT, pad TEXT)');
  const src = source('quiet', ['quiet']);
  const reader = new Reader(src, null);
  try {
    await exec('INSERT INTO quiet VALUES (1)');
    const [one] = await reader.take(1);
    await exec('INSERT INTO quiet VALUES (2)');
    const [two] = await reader.take(1);
    assert.equal(two!.op, 'c');
    src.acknowledge(one!.offset);
    // Other tables' WAL while an event is handed out but not stored: the slot stays at what was acknowledged.
    await exec("INSERT INTO busy SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g");
    await new Promise((r) => setTimeout(r, 500));
    const held = await slotConfirmed('slot_quiet');
    assert.ok(held <= parseLsn(two!.offset.lsn as string), 'not past the unacknowledged change');
    src.acknowledge(two!.offset);
    await exec("INSERT INTO busy SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g");
    const written = parseLsn(((await admin('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0] as { lsn: string }).lsn);
    const deadline = Date.now() + 20_000;
    while ((await slotConfirmed('slot_quiet')) < written) {
      if (Date.now() > deadline) throw new Error(`slot at ${await slotConfirmed('slot_quiet')}, server at ${written}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await src.stop();
  }
});

test('a reader killed with SIGKILL mid-stream resumes from its last stored offset: every change once', async () => {
  await exec('CREATE TABLE feed (id INT PRIMARY KEY, v INT)');
  await exec(`INSERT INTO feed SELECT g, g FROM generate_series(1, 50) g`);
  const TOTAL = 300;
  const script = fileURLToPath(new URL('./support/cdc-postgres-reader.js', import.meta.url));
  const config = (offset: CdcOffset | null): string =>
    JSON.stringify({ url: db.url, slot: 'slot_feed', publication: 'pub_feed', tables: ['feed'], offset });

  const startReader = (offset: CdcOffset | null) => {
    const child = spawn(process.execPath, [script, config(offset)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { op: string; id: number; offset: CdcOffset }[] = [];
    let buffered = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const p of parts) lines.push(JSON.parse(p) as (typeof lines)[number]);
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const until = async (done: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!done()) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what}: ${lines.length} lines\n${stderr}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    return { child, lines, exited, until };
  };

  const one = startReader(null);
  let writer: Promise<void> = Promise.resolve();
  let writing = true;
  try {
    await one.until(() => one.lines.length >= 50, 'snapshot');
    assert.equal(one.lines[49]!.offset.snapshot, undefined, 'the 50th row ends the snapshot');
    // Changes keep coming (transactions of 1–3 rows) while the reader is killed.
    writer = (async () => {
      const w = new pg.Client({ connectionString: db.url });
      await w.connect();
      try {
        let id = 51;
        while (id <= TOTAL) {
          const n = Math.min(1 + (id % 3), TOTAL - id + 1);
          await w.query('BEGIN');
          for (let i = 0; i < n; i++, id++) await w.query('INSERT INTO feed VALUES ($1, $1)', [id]);
          await w.query('COMMIT');
          await new Promise((r) => setTimeout(r, 10));
        }
      } finally {
        writing = false;
        await w.end();
      }
    })();
    await one.until(() => one.lines.length >= 120, 'first reader');
  } finally {
    one.child.kill('SIGKILL');
    await one.exited;
  }
  const stored = one.lines.at(-1)!.offset;
  await slotIdle('slot_feed');
  const two = startReader(stored);
  try {
    await writer;
    assert.equal(writing, false);
    const seen = () => new Set([...one.lines, ...two.lines].map((l) => l.id));
    await two.until(() => seen().size >= TOTAL, 'second reader');
    assert.ok(one.lines.length < TOTAL && two.lines.length > 0, `killed mid-stream (${one.lines.length} + ${two.lines.length})`);
    await new Promise((r) => setTimeout(r, 300)); // anything doubled would show now
    const ids = [...one.lines, ...two.lines].map((l) => l.id);
    assert.deepEqual([...ids].sort((a, b) => a - b), Array.from({ length: TOTAL }, (_, i) => i + 1), 'every row exactly once');
    assert.deepEqual(one.lines.slice(0, 50).map((l) => l.op), Array(50).fill('r'));
    assert.ok([...one.lines.slice(50), ...two.lines].every((l) => l.op === 'c'));
  } finally {
    two.child.kill('SIGTERM');
    await two.exited;
  }
});

test('an existing publication is used as it is; an interrupted snapshot is read again (at least once); a stored offset without its slot is refused', async () => {
  await exec('CREATE TABLE shelf (id INT PRIMARY KEY, v TEXT)', 'CREATE TABLE other (id INT PRIMARY KEY)', "INSERT INTO shelf VALUES (1, 'a'), (2, 'b')");
  await exec('CREATE PUBLICATION pub_shelf FOR TABLE shelf');
  const first = new PostgresCdcSource({ url: db.url, slot: 'slot_shelf', publication: 'pub_shelf' });
  let partial: ChangeEvent;
  try {
    [partial] = await new Reader(first, null).take(1);
    assert.deepEqual([partial!.op, partial!.offset.snapshot], ['r', true]);
  } finally {
    await first.stop();
  }
  // Changed after the slot was made: the fresh snapshot sees it, and streaming (from the slot's point) brings it too.
  await exec("UPDATE shelf SET v = 'b2' WHERE id = 2", 'INSERT INTO other VALUES (1)');
  await slotIdle('slot_shelf');
  const notes: string[] = [];
  const second = new PostgresCdcSource({ url: db.url, slot: 'slot_shelf', publication: 'pub_shelf', log: (m) => notes.push(m) });
  const reader = new Reader(second, partial!.offset);
  let last: ChangeEvent;
  try {
    const got = await reader.take(3);
    assert.deepEqual(
      got.map((e) => [e.op, e.table, e.after, e.snapshot]),
      [
        ['r', 'shelf', { id: 1, v: 'a' }, 'true'],
        ['r', 'shelf', { id: 2, v: 'b2' }, 'last'],
        ['u', 'shelf', { id: 2, v: 'b2' }, 'false'],
      ],
    );
    assert.ok(notes.some((n) => /interrupted/.test(n)), notes.join('\n'));
    last = got[2]!;
  } finally {
    await second.stop();
  }
  await slotIdle('slot_shelf');
  await admin("SELECT pg_drop_replication_slot('slot_shelf')");
  const third = new PostgresCdcSource({ url: db.url, slot: 'slot_shelf', publication: 'pub_shelf' });
  await assert.rejects(new Reader(third, last.offset).take(1), /slot "slot_shelf" does not exist.*delete the stored offsets/);
});

test('snapshot: never streams only the changes made after the slot', async () => {
  await exec('CREATE TABLE later (id INT PRIMARY KEY)', 'INSERT INTO later VALUES (1)');
  const src = source('later', ['later'], { snapshot: 'never' });
  const reader = new Reader(src, null);
  try {
    const first = reader.take(1);
    // The slot exists once the source reached streaming; a row inserted after that is the first event.
    const deadline = Date.now() + 20_000;
    while ((await admin("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'slot_later' AND active_pid IS NOT NULL")).rowCount === 0) {
      if (Date.now() > deadline) throw new Error('the source never started streaming');
      await new Promise((r) => setTimeout(r, 50));
    }
    await exec('INSERT INTO later VALUES (2)');
    const [event] = await first;
    assert.deepEqual([event!.op, event!.after], ['c', { id: 2 }]);
  } finally {
    await src.stop();
  }
});

test('at start: REPLICATION privilege and wal_level=logical are checked, saying what to change', async () => {
  await admin("CREATE ROLE plain LOGIN PASSWORD 'plain-secret'");
  await admin('GRANT ALL ON SCHEMA public TO plain');
  const url = db.url.replace(/\/\/[^@]+@/, '//plain:plain-secret@');
  const noPrivilege = new PostgresCdcSource({ url, slot: 'slot_plain', publication: 'pub_plain', tables: ['orders'] });
  await assert.rejects(new Reader(noPrivilege, null).take(1), /lacks the REPLICATION attribute.*ALTER ROLE "plain" REPLICATION/);

  const replica = await startPostgres();
  try {
    const src = new PostgresCdcSource({ url: replica.adminUrl, tables: ['t'] });
    await assert.rejects(new Reader(src, null).take(1), /wal_level is 'replica'.*wal_level = logical.*restart PostgreSQL/);
  } finally {
    await replica.stop();
  }
});
