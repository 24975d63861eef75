/**
 * Change data capture from a real MariaDB (mariadbd with log-bin, binlog_format=ROW, server-id; started by the
 * test) through the in-process broker: the snapshot of existing rows, then inserts, updates, deletes and an ALTER
 * TABLE captured in commit order with their before/after images in Debezium's envelope; a restart resumes right
 * after the stored offset (even inside a transaction); a missing grant or setting is reported with the fix.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { Consumer } from '../../src/client/consumer.js';
import { runSourcePipeline } from '../../src/connect/source-runtime.js';
import { parsePipeline } from '../../src/connect/config.js';
import type { MysqlCdcSourceConfig, PipelineConfig } from '../../src/connect/types.js';
import { MysqlCdcSource } from '../../src/connect/cdc/mysql.js';
import type { CdcOffset, ChangeEvent } from '../../src/connect/cdc/change-event.js';
import type { TestDatabase } from './support/mariadb.js';
import { startBinlogMariadb } from './support/mariadb-binlog.js';
import { startTestBroker, type TestBroker } from './support/broker.js';

interface Change {
  key: unknown;
  op: string | null;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  snapshot?: string;
}

describe('CDC from MariaDB', () => {
  let db: TestDatabase;
  let broker: TestBroker;
  let conn: mysql.Connection;
  before(async () => {
    [db, broker] = await Promise.all([startBinlogMariadb(), startTestBroker({ 'num.partitions': '1' })]);
    conn = await mysql.createConnection(db.url);
  });
  after(async () => {
    await conn?.end();
    await Promise.all([db?.stop(), broker?.close()]);
  });

  function pipeline(name: string, tables: string[], extra: Record<string, unknown> = {}): PipelineConfig {
    return parsePipeline({ name, source: { type: 'mysql', url: db.url, tables, prefix: name, serverId: 100 + name.length, ...extra } }, 0, process.cwd());
  }

  /** Runs the pipeline until `topic` holds `count` records, then stops it. */
  async function capture(p: PipelineConfig, topic: string, count: number, during?: () => Promise<void>): Promise<Change[]> {
    const stop = new AbortController();
    const run = runSourcePipeline(p, { bootstrapServers: broker.address }, { signal: stop.signal, stream: devNull });
    try {
      await during?.();
      return await readChanges(topic, count);
    } finally {
      stop.abort();
      await run;
    }
  }

  async function readChanges(topic: string, count: number, timeoutMs = 20_000): Promise<Change[]> {
    const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    try {
      await c.connect();
      c.assign([{ topic, partition: 0 }]);
      const out: Change[] = [];
      const deadline = Date.now() + timeoutMs;
      while (out.length < count && Date.now() < deadline) {
        for (const r of await c.poll(200)) {
          const v = r.value === null ? null : (JSON.parse(r.value.toString()) as { op: string; before: Change['before']; after: Change['after']; source: { snapshot: string } });
          out.push({ key: r.key === null ? null : JSON.parse(r.key.toString()), op: v?.op ?? null, before: v?.before ?? null, after: v?.after ?? null, ...(v ? { snapshot: v.source.snapshot } : {}) });
        }
      }
      assert.equal(out.length, count, `records on ${topic}: ${JSON.stringify(out)}`);
      return out;
    } finally {
      await c.close();
    }
  }

  test('snapshot of the existing rows, then inserts, updates, deletes and ALTER TABLE in commit order', async () => {
    await conn.query('CREATE TABLE orders (id INT PRIMARY KEY, customer VARCHAR(40), total DECIMAL(10,2), placed DATETIME(3), big BIGINT UNSIGNED, doc JSON, raw VARBINARY(8))');
    await conn.query("INSERT INTO orders VALUES (1, 'ann', 9.50, '2024-05-01 10:00:00.250', 18446744073709551615, '{\"a\": [1, 2]}', x'0102'), (2, 'bo', 3.00, NULL, 7, NULL, NULL)");
    const p = pipeline('shop', ['tributary.orders']);
    const changes = await capture(p, 'shop.tributary.orders', 10, async () => {
      // The snapshot is taken before these run, or includes them: wait for it to be on the topic first.
      await readChanges('shop.tributary.orders', 2);
      await conn.query("INSERT INTO orders (id, customer, total) VALUES (3, 'cy', 1.25)");
      await conn.query('BEGIN');
      await conn.query("UPDATE orders SET customer = 'anne' WHERE id = 1");
      await conn.query('DELETE FROM orders WHERE id = 2');
      await conn.query('COMMIT');
      await conn.query('ALTER TABLE orders ADD COLUMN status VARCHAR(10) NOT NULL DEFAULT \'new\', DROP COLUMN doc');
      await conn.query("UPDATE orders SET status = 'paid' WHERE id = 3");
      await conn.query('UPDATE orders SET id = 30 WHERE id = 3');
    });
    const ann = { id: 1, customer: 'ann', total: '9.50', placed: '2024-05-01T10:00:00.250', big: '18446744073709551615', doc: '{"a": [1, 2]}', raw: 'AQI=' };
    const bo = { id: 2, customer: 'bo', total: '3.00', placed: null, big: 7, doc: null, raw: null };
    const cy = { id: 3, customer: 'cy', total: '1.25', placed: null, big: null, doc: null, raw: null };
    const { doc: _doc, ...cyAltered } = cy;
    assert.deepEqual(changes, [
      { key: { id: 1 }, op: 'r', before: null, after: ann, snapshot: 'true' },
      { key: { id: 2 }, op: 'r', before: null, after: bo, snapshot: 'last' },
      { key: { id: 3 }, op: 'c', before: null, after: cy, snapshot: 'false' },
      { key: { id: 1 }, op: 'u', before: ann, after: { ...ann, customer: 'anne' }, snapshot: 'false' },
      { key: { id: 2 }, op: 'd', before: bo, after: null, snapshot: 'false' },
      { key: { id: 2 }, op: null, before: null, after: null }, // the tombstone
      { key: { id: 3 }, op: 'u', before: { ...cyAltered, status: 'new' }, after: { ...cyAltered, status: 'paid' }, snapshot: 'false' },
      // A key change: delete of the old key (+ tombstone), create of the new one.
      { key: { id: 3 }, op: 'd', before: { ...cyAltered, status: 'paid' }, after: null, snapshot: 'false' },
      { key: { id: 3 }, op: null, before: null, after: null },
      { key: { id: 30 }, op: 'c', before: null, after: { ...cyAltered, id: 30, status: 'paid' }, snapshot: 'false' },
    ]);
  });

  test('a restart resumes right after the stored offset, inside a transaction too', async () => {
    await conn.query('CREATE TABLE steps (id INT PRIMARY KEY, n INT)');
    const p = pipeline('resume', ['tributary.steps'], { snapshot: 'never' });
    const topic = 'resume.tributary.steps';
    const [[status]] = await conn.query<mysql.RowDataPacket[]>('SHOW MASTER STATUS');
    const [[gtid]] = await conn.query<mysql.RowDataPacket[]>('SELECT @@gtid_binlog_pos AS pos');
    const beforeInsert: CdcOffset = { gtids: String(gtid.pos), file: String(status.File), pos: Number(status.Position), skip: 0 };
    await capture(p, topic, 5, async () => {
      await new Promise((r) => setTimeout(r, 3000)); // the source has read the binlog position it starts at
      await conn.query('INSERT INTO steps VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)');
    });
    // Changes while it is down; the second run starts after the stored offset (the fifth row).
    await conn.query('UPDATE steps SET n = n + 10 WHERE id <= 2');
    const all = await capture(p, topic, 7);
    assert.deepEqual(all.map((c) => [c.op, (c.after as { n: number }).n]), [['c', 1], ['c', 2], ['c', 3], ['c', 4], ['c', 5], ['u', 11], ['u', 12]]);

    // The offset of the third row of the five-row transaction: resuming from it yields rows 4 and 5, then the updates.
    const source = new MysqlCdcSource('resume', p.source as MysqlCdcSourceConfig);
    const firstRun: ChangeEvent[] = [];
    for await (const e of source.events(beforeInsert)) {
      firstRun.push(e);
      if (firstRun.length === 3) break;
    }
    await source.stop();
    assert.deepEqual(firstRun.map((e) => e.after?.id), [1, 2, 3]);
    assert.equal(firstRun[2].offset.skip, 3);
    const again = new MysqlCdcSource('resume', p.source as MysqlCdcSourceConfig);
    const resumed: ChangeEvent[] = [];
    for await (const e of again.events(firstRun[2].offset)) {
      resumed.push(e);
      if (resumed.length === 4) break;
    }
    await again.stop();
    assert.deepEqual(resumed.map((e) => [e.op, e.after?.id, e.after?.n]), [['c', 4, 4], ['c', 5, 5], ['u', 1, 11], ['u', 2, 12]]);
  });

  test('ALTER TABLE while the source is stopped: the changes before it keep their old columns (binlog_row_metadata=FULL)', async () => {
    const admin = await mysql.createConnection(db.adminUrl);
    await admin.query('SET GLOBAL binlog_row_metadata = FULL');
    await admin.end();
    await conn.query('CREATE TABLE evolving (id INT PRIMARY KEY, a VARCHAR(10), b VARCHAR(10), c VARCHAR(10))');
    const p = pipeline('evolve', ['tributary.evolving']);
    const topic = 'evolve.tributary.evolving';
    await conn.query("INSERT INTO evolving VALUES (1, 'a1', 'b1', 'c1')");
    await capture(p, topic, 1);
    // Behind the source's back: a change, a column dropped from the middle and one renamed, another change.
    await conn.query("INSERT INTO evolving VALUES (2, 'a2', 'b2', 'c2')");
    await conn.query('ALTER TABLE evolving DROP COLUMN b, RENAME COLUMN c TO d');
    await conn.query("INSERT INTO evolving VALUES (3, 'a3', 'd3')");
    const all = await capture(p, topic, 3);
    assert.deepEqual(all.map((c) => c.after), [
      { id: 1, a: 'a1', b: 'b1', c: 'c1' },
      { id: 2, a: 'a2', b: 'b2', c: 'c2' },
      { id: 3, a: 'a3', d: 'd3' },
    ]);
  });

  test('column types: the same values in JSON from the snapshot and from the binlog', async () => {
    await conn.query(`CREATE TABLE typed (id INT PRIMARY KEY, ti TINYINT, si SMALLINT UNSIGNED, bi BIGINT, f FLOAT, d DOUBLE, dec_ DECIMAL(20,6),
      dt DATE, tm TIME(3), dtm DATETIME(6), ts TIMESTAMP(3) NULL, yr YEAR, ch CHAR(3), txt TEXT, bl BLOB, bits BIT(10), en ENUM('x','y'), st SET('p','q','r'), js JSON)`);
    const values = "1, -5, 65535, -9007199254740993, 1.1, 2.25, '-12345678901234.123456', '2024-02-29', '12:34:56.789', '2024-02-29 23:59:59.123456', '2024-03-01 10:00:00.5', 2024, 'é€x', 'ünï', x'00ff', b'1000000001', 'y', 'p,r', '{\"k\": [true, null]}'";
    await conn.query("SET time_zone = '+00:00'");
    await conn.query(`INSERT INTO typed VALUES (${values})`);
    const p = pipeline('typed', ['tributary.typed']);
    const changes = await capture(p, 'typed.tributary.typed', 2, async () => {
      await readChanges('typed.tributary.typed', 1);
      await conn.query(`INSERT INTO typed VALUES (${values.replace(/^1,/, '2,')})`);
    });
    const expected = {
      ti: -5, si: 65535, bi: '-9007199254740993', f: 1.1, d: 2.25, dec_: '-12345678901234.123456', dt: '2024-02-29', tm: '12:34:56.789',
      dtm: '2024-02-29T23:59:59.123456', ts: '2024-03-01T10:00:00.500Z', yr: 2024, ch: 'é€x', txt: 'ünï', bl: 'AP8=', bits: 'AgE=', en: 'y', st: 'p,r', js: '{"k": [true, null]}',
    };
    assert.deepEqual(changes.map((c) => c.op), ['r', 'c']);
    assert.deepEqual(changes[0].after, { id: 1, ...expected });
    assert.deepEqual(changes[1].after, { id: 2, ...expected });
  });

  test('a user without the replication grants is told what to grant', async () => {
    const admin = await mysql.createConnection(db.adminUrl);
    try {
      await admin.query("CREATE USER 'plain'@'%' IDENTIFIED BY 'pw'");
      await admin.query("GRANT SELECT ON tributary.* TO 'plain'@'%'");
    } finally {
      await admin.end();
    }
    const url = db.url.replace(/\/\/[^@]*@/, '//plain:pw@');
    const p = parsePipeline({ name: 'nogrant', source: { type: 'mysql', url, tables: ['tributary.orders'] } }, 0, process.cwd());
    await assert.rejects(runSourcePipeline(p, { bootstrapServers: broker.address }, { stream: devNull }), /lacks REPLICATION SLAVE, REPLICATION CLIENT: GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON \*\.\* TO 'plain'@'%'/);
  });
});

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
