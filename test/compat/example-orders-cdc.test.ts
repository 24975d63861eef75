/** examples/orders-cdc against a real MariaDB with the binlog on: search and analytics end identical to the table. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runOrdersCdc, describe as describeRun } from '../../examples/orders-cdc/main.js';
import { runExampleMain } from '../unit/examples/support.js';
import type { TestDatabase } from './support/mariadb.js';
import { startBinlogMariadb } from './support/mariadb-binlog.js';

let db: TestDatabase;
before(async () => {
  db = await startBinlogMariadb();
});
after(async () => {
  await db?.stop();
});

test('orders-cdc: the snapshot and the changes reach the search index and the analytics copy', async () => {
  const s = await runOrdersCdc({ db: db.url, orders: 120 });
  assert.equal(s.orders, 120);
  assert.ok(s.changes >= 120, `${s.changes} changes`);
  // Every order placed is new, paid or cancelled (deleted); the readers agree with each other (and, checked inside, with the table).
  const searchTotal = Object.values(s.search).reduce((a, b) => a + b, 0);
  assert.equal(searchTotal, s.analytics.reduce((a, r) => a + r.orders, 0));
  assert.deepEqual(Object.keys(s.search).sort(), s.analytics.map((a) => a.status));
  assert.ok(s.analytics.every((a) => a.revenue > 0));
  assert.match(describeRun(s), /^orders-cdc: 120 orders, \d+ changes of table orders captured to shop\.tributary\.orders; search index: new \d+, paid \d+; analytics \(SQLite\): new \d+ orders [\d.]+, paid \d+ orders [\d.]+; both identical to the table; \d+ ms$/);
});

test('orders-cdc: one command with --db; without it, a clear error', async () => {
  const run = await runExampleMain('orders-cdc', ['--db', db.url, '--orders', '40', '-q']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^orders-cdc: 40 orders, /);
  const missing = await runExampleMain('orders-cdc', ['-q']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /--db mysql:\/\/user:password@host:port\/database is required/);
});
