/**
 * The order table feeds search and analytics, without either querying the shop's database: a `mysql` CDC source
 * (the runtime of `tributary connect`) captures the `orders` table of a MySQL/MariaDB — a snapshot of the orders
 * already there, then every insert, update and delete from the binlog — as Debezium change events on
 * `<prefix>.<db>.orders`. Two independent readers of that one topic:
 *   search     a consumer keeping an index of the open orders by id (what a search engine would be fed): c/u/r
 *              put the row, d removes it;
 *   analytics  a SQLite sink in CDC mode (exactly-once) keeping a copy of the table to run reports on.
 * A seeded workload places, pays and cancels orders meanwhile; the run ends when both readers match the source.
 *
 *   node dist/examples/orders-cdc/main.js --db mysql://user:password@127.0.0.1:3306/shop [--orders 200] [--out DIR]
 *
 * The server needs the binlog in row format (log-bin, binlog_format=ROW, binlog_row_image=FULL, server-id) and
 * the user REPLICATION SLAVE, REPLICATION CLIENT and SELECT on *.*; the source says what is missing otherwise.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import { Consumer } from '../../src/index.js';
import { parsePipeline } from '../../src/connect/config.js';
import { runSinkPipeline } from '../../src/connect/sink-runtime.js';
import { runSourcePipeline } from '../../src/connect/source-runtime.js';
import { cliMain, intFlag, openEnv, pick, random, within, type ExampleOptions } from '../common.js';

export interface OrdersCdcSummary {
  table: string;
  topic: string;
  orders: number;
  /** Inserts, updates and deletes made while the capture ran (after its snapshot of the first orders). */
  changes: number;
  /** Open orders in the search index, by status. */
  search: Record<string, number>;
  /** The analytics copy: orders and revenue by status. */
  analytics: Array<{ status: string; orders: number; revenue: number }>;
  database: string;
  databaseKept: boolean;
  elapsedMs: number;
}

interface Order {
  id: number;
  customer: string;
  total: string;
  status: string;
}

export async function runOrdersCdc(options: ExampleOptions & { db: string; orders?: number }): Promise<OrdersCdcSummary> {
  const count = options.orders ?? 200;
  const started = Date.now();
  const env = await openEnv('orders-cdc', options);
  const dbName = decodeURIComponent(new URL(options.db).pathname.slice(1));
  if (dbName === '') throw new Error('--db must name a database: mysql://user:password@host:port/shop');
  const table = `orders${env.suffix.replace(/-/g, '_')}`;
  const prefix = `shop${env.suffix}`;
  const topic = `${prefix}.${dbName}.${table}`;
  const conn = await mysql.createConnection(options.db);
  const stop = new AbortController();
  const running: Array<Promise<unknown>> = [];
  try {
    await conn.query(`DROP TABLE IF EXISTS \`${table}\``);
    await conn.query(`CREATE TABLE \`${table}\` (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, total DECIMAL(10,2) NOT NULL, status VARCHAR(10) NOT NULL)`);
    const rnd = random(42);
    const place = (id: number): Promise<unknown> =>
      conn.query(`INSERT INTO \`${table}\` VALUES (?, ?, ?, 'new')`, [id, `customer-${1 + Math.floor(rnd() * 50)}`, (5 + rnd() * 195).toFixed(2)]);
    // Half the orders exist before the capture starts: they arrive as its snapshot.
    const before = Math.floor(count / 2);
    for (let id = 1; id <= before; id++) await place(id);
    await env.createTopics([{ name: topic, partitions: 1 }]);

    // The capture, as `tributary connect` runs this pipeline file:
    //   pipelines:
    //     - name: orders-capture
    //       source: { type: mysql, url: mysql://…/shop, tables: [shop.orders], prefix: shop }
    const capture = parsePipeline({ name: `orders-capture${env.suffix}`, source: { type: 'mysql', url: options.db, tables: [`${dbName}.${table}`], prefix, serverId: 5400 + Math.floor(Math.random() * 100_000) } }, 0, env.dir);
    running.push(runSourcePipeline(capture, env.client, { signal: stop.signal, stream: env.stream }));

    // Analytics: the table copied into SQLite by a CDC sink.
    //     - name: orders-to-analytics
    //       topic: shop.shop.orders
    //       sink: { type: sqlite, url: analytics.db, table: orders, cdc: true, autoCreate: true, guarantee: exactly-once }
    const database = join(env.dir, 'analytics.db');
    for (const suffix of ['', '-wal', '-shm']) await rm(`${database}${suffix}`, { force: true });
    const analytics = parsePipeline({ name: 'orders-to-analytics', topic, group: `orders-analytics${env.suffix}`, sink: { type: 'sqlite', url: database, table: 'orders', cdc: true, autoCreate: true, guarantee: 'exactly-once' } }, 0, env.dir);
    running.push(runSinkPipeline(analytics, env.client, { signal: stop.signal, progressIntervalMs: 100, log: env.log, stream: env.stream }));

    // Search: its own consumer group on the same topic, an index of the current orders.
    const index = new Map<number, Order>();
    const search = new Consumer({ ...env.client, groupId: `orders-search${env.suffix}`, autoOffsetReset: 'earliest' });
    await search.connect();
    await search.subscribe([topic]);
    running.push(
      (async () => {
        while (!stop.signal.aborted) {
          for (const r of await search.poll(100)) {
            if (r.value === null) continue; // a tombstone: the delete before it removed the order
            const change = JSON.parse(r.value.toString()) as { op: string; before: Order | null; after: Order | null };
            if (change.op === 'd') index.delete(change.before!.id);
            else index.set(change.after!.id, change.after!);
          }
        }
        await search.close();
      })(),
    );

    // The shop goes on: new orders, payments, cancellations (deleted).
    let changes = 0;
    const open = new Set(Array.from({ length: before }, (_, i) => i + 1));
    let next = before + 1;
    while (next <= count || changes < count) {
      const action = next <= count ? pick(rnd, { place: 2, pay: 2, cancel: 1 }) : pick(rnd, { pay: 3, cancel: 1 });
      const ids = [...open];
      if (action === 'place' || ids.length === 0) {
        if (next > count) break;
        await place(next);
        open.add(next++);
      } else {
        const id = ids[Math.floor(rnd() * ids.length)];
        if (action === 'pay') await conn.query(`UPDATE \`${table}\` SET status = 'paid' WHERE id = ?`, [id]);
        else await conn.query(`DELETE FROM \`${table}\` WHERE id = ?`, [id]);
        open.delete(id);
      }
      changes++;
    }
    env.log(`orders-cdc: ${before} orders before the capture, then ${changes} changes`);

    // Both readers catch up with the source.
    const [rows] = await conn.query<mysql.RowDataPacket[]>(`SELECT id, customer, total, status FROM \`${table}\` ORDER BY id`);
    const source = JSON.stringify(rows);
    const copy = (): string => {
      const db = new Database(database, { readonly: true, timeout: 5000 });
      try {
        return JSON.stringify(db.prepare('SELECT id, customer, total, status FROM orders ORDER BY id').all());
      } catch {
        return ''; // not created yet
      } finally {
        db.close();
      }
    };
    const indexed = (): string => JSON.stringify([...index.values()].sort((a, b) => a.id - b.id).map((o) => ({ id: o.id, customer: o.customer, total: o.total, status: o.status })));
    await within(30_000, 'search and analytics catching up with the orders table', (async () => {
      while (indexed() !== source || copy() !== source) await new Promise((r) => setTimeout(r, 100));
    })());

    const search_: Record<string, number> = {};
    for (const o of index.values()) search_[o.status] = (search_[o.status] ?? 0) + 1;
    const report = new Database(database, { readonly: true });
    let byStatus: OrdersCdcSummary['analytics'];
    try {
      byStatus = report.prepare('SELECT status, COUNT(*) AS orders, ROUND(SUM(CAST(total AS REAL)), 2) AS revenue FROM orders GROUP BY status ORDER BY status').all() as OrdersCdcSummary['analytics'];
    } finally {
      report.close();
    }
    return { table, topic, orders: count, changes, search: search_, analytics: byStatus, database, databaseKept: !env.temporary, elapsedMs: Date.now() - started };
  } finally {
    stop.abort();
    await Promise.allSettled(running);
    await conn.end();
    await env.close();
  }
}

export function describe(s: OrdersCdcSummary): string {
  const search = Object.entries(s.search).sort().map(([k, n]) => `${k} ${n}`).join(', ');
  const analytics = s.analytics.map((a) => `${a.status} ${a.orders} orders ${a.revenue.toFixed(2)}`).join(', ');
  return `orders-cdc: ${s.orders} orders, ${s.changes} changes of table ${s.table} captured to ${s.topic}; search index: ${search}; ` +
    `analytics (SQLite${s.databaseKept ? ` ${s.database}` : ''}): ${analytics}; both identical to the table; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/orders-cdc/main.js --db mysql://user:password@host:port/database [--orders N] [--out DIR]', {
  db: { type: 'string' },
  orders: { type: 'string' },
}, async (values, common) => {
  if (typeof values.db !== 'string') throw new Error('--db mysql://user:password@host:port/database is required: a MySQL/MariaDB with the binlog on (see the README)');
  return describe(await runOrdersCdc({ ...common, db: values.db, orders: intFlag(values, 'orders', 200) }));
});
