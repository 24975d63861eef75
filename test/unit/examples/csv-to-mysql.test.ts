import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfigFile } from '../../../src/connect/config.js';
import { BROKER_TABLE, DIRECT_TABLE, runCsvToMysql, writeUsersCsv } from '../../../examples/csv-to-mysql/main.js';
import { runExampleMain } from './support.js';

function rows(path: string, table: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`SELECT * FROM "${table}" ORDER BY 1`).all();
  } finally {
    db.close();
  }
}

test('csv-to-mysql on SQLite: direct and via the broker write the same rows; refused rows skipped / dead-lettered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-example-test-'));
  try {
    const s = await runCsvToMysql({ rows: 400, outDir: dir });
    const bad = Math.floor(400 / 97);
    assert.equal(s.kind, 'sqlite');
    assert.equal(s.rows, 400);
    assert.ok(s.direct && s.broker);
    assert.deepEqual({ inserted: s.direct.inserted, refused: s.direct.refused }, { inserted: 400 - bad, refused: bad });
    assert.deepEqual({ inserted: s.broker.inserted, refused: s.broker.refused }, { inserted: 400 - bad, refused: bad });
    const db = join(dir, 'users.db');
    const direct = rows(db, DIRECT_TABLE);
    assert.deepEqual(rows(db, BROKER_TABLE), direct);
    assert.deepEqual(direct[0], { id: 1, name: 'User 1', email: 'user1@example.com', age: (direct[0] as { age: number }).age, city: (direct[0] as { city: string }).city });
    // The pipeline file written beside the data is a valid `tributary connect` file.
    assert.ok(s.broker.pipelineFile);
    const config = await loadConfigFile(s.broker.pipelineFile);
    assert.deepEqual(config.pipelines.map((p) => [p.name, p.source?.type ?? p.sink?.type]), [['csv-in', 'csv'], ['users-to-db', 'sqlite']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('csv-to-mysql: a CSV of your own (quoted commas, floats, inferred types), each mode alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-example-test-'));
  try {
    const csv = join(dir, 'products.csv');
    writeFileSync(csv, 'sku,title,price,stock\nA1,"Mug, large",12.5,3\nB2,"Tea ""green""",4.25,10\nC3,Kettle,39,0\n');
    const direct = await runCsvToMysql({ csv, mode: 'direct', db: join(dir, 'shop.db') });
    assert.equal(direct.broker, undefined);
    assert.deepEqual({ inserted: direct.direct?.inserted, refused: direct.direct?.refused }, { inserted: 3, refused: 0 });
    const viaBroker = await runCsvToMysql({ csv, mode: 'broker', db: join(dir, 'shop.db') });
    assert.equal(viaBroker.direct, undefined);
    assert.deepEqual({ inserted: viaBroker.broker?.inserted, refused: viaBroker.broker?.refused }, { inserted: 3, refused: 0 });
    const expected = [
      { sku: 'A1', title: 'Mug, large', price: 12.5, stock: 3 },
      { sku: 'B2', title: 'Tea "green"', price: 4.25, stock: 10 },
      { sku: 'C3', title: 'Kettle', price: 39, stock: 0 },
    ];
    assert.deepEqual(rows(join(dir, 'shop.db'), DIRECT_TABLE), expected);
    assert.deepEqual(rows(join(dir, 'shop.db'), BROKER_TABLE), expected);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('csv-to-mysql: one command, SQLite fallback, everything cleaned up', async () => {
  const run = await runExampleMain('csv-to-mysql', ['--rows', '300', '-q']);
  assert.equal(run.code, 0, run.stderr);
  const m = /^csv-to-mysql: 300 CSV rows into sqlite (\S+); direct row by row: 297 inserted, 3 refused in \d+ ms .*; via broker: CSV released after \d+ ms .*, 297 in users_via_broker \+ 3 to csv-users-dlq after \d+ ms;/.exec(run.stdout);
  assert.ok(m, run.stdout);
  assert.equal(existsSync(m[1]), false);
});

test('csv-to-mysql: the generated CSV', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-example-test-'));
  try {
    assert.equal(await writeUsersCsv(join(dir, 'u.csv'), 200), 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
