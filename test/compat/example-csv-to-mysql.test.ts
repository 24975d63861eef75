/**
 * examples/csv-to-mysql against a real MariaDB (mariadbd started on a free loopback port in a temp dir): the
 * classic row-by-row program and the CSV → broker → MySQL pipeline write the same rows, and the rows MariaDB
 * refuses (age "unknown" into an INT column, strict mode) are skipped by one and dead-lettered by the other.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import mysql from 'mysql2/promise';
import { BROKER_TABLE, DIRECT_TABLE, runCsvToMysql } from '../../examples/csv-to-mysql/main.js';
import { runExampleMain } from '../unit/examples/support.js';
import { startMariadb, type TestDatabase } from './support/mariadb.js';

let db: TestDatabase;
before(async () => {
  db = await startMariadb();
});
after(async () => {
  await db?.stop();
});

async function select(sql: string): Promise<Array<Record<string, unknown>>> {
  const conn = await mysql.createConnection(db.url);
  try {
    const [rows] = await conn.query(sql);
    return rows as Array<Record<string, unknown>>;
  } finally {
    await conn.end();
  }
}

test('csv-to-mysql on MariaDB: direct and via the broker hold the same rows', async () => {
  const s = await runCsvToMysql({ db: db.url, rows: 500 });
  const bad = Math.floor(500 / 97);
  assert.equal(s.kind, 'mysql');
  assert.match(s.database, /^mysql 127\.0\.0\.1:\d+\/tributary$/);
  assert.deepEqual({ inserted: s.direct?.inserted, refused: s.direct?.refused }, { inserted: 500 - bad, refused: bad });
  assert.deepEqual({ inserted: s.broker?.inserted, refused: s.broker?.refused }, { inserted: 500 - bad, refused: bad });
  const direct = await select(`SELECT id, name, email, age, city FROM ${DIRECT_TABLE} ORDER BY id`);
  const viaBroker = await select(`SELECT id, name, email, age, city FROM ${BROKER_TABLE} ORDER BY id`);
  assert.equal(direct.length, 500 - bad);
  assert.deepEqual(viaBroker, direct);
  assert.deepEqual(direct[0], { id: 1, name: 'User 1', email: 'user1@example.com', age: direct[0].age, city: direct[0].city });
  assert.equal((await select(`SELECT COUNT(*) AS n FROM ${DIRECT_TABLE} WHERE id % 97 = 0`))[0].n, 0);
  const [ddl] = await select(`SHOW CREATE TABLE ${DIRECT_TABLE}`);
  assert.match(String(ddl['Create Table']), /`age` bigint\(20\)/);
});

test('csv-to-mysql on MariaDB: one command with --db', async () => {
  const run = await runExampleMain('csv-to-mysql', ['--db', db.url, '--rows', '200', '--mode', 'broker', '-q']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^csv-to-mysql: 200 CSV rows into mysql 127\.0\.0\.1:\d+\/tributary; via broker: CSV released after \d+ ms .*, 198 in users_via_broker \+ 2 to csv-users-dlq/);
  assert.doesNotMatch(run.stdout, /password|direct row by row/);
  assert.equal((await select(`SELECT COUNT(*) AS n FROM ${BROKER_TABLE}`))[0].n, 198);
});
