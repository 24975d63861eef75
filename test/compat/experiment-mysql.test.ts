/** `tributary experiment` at small scale against a real MariaDB that the test starts (mariadbd on a free loopback port). */
import { after, before, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { checkExperimentRun } from '../helpers/experiment-report.js';
import { startMariadb, type TestDatabase } from './support/mariadb.js';

let db: TestDatabase;
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-experiment-mysql-'));
  db = await startMariadb();
});
after(async () => {
  await db?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('experiment --rows 2000 --db mysql://… writes every section with measured, consistent numbers', { timeout: 180_000 }, async () => {
  const out = join(dir, 'out');
  const r = await runCli(['experiment', '--rows', '2000', '--db', db.url, '--out', out], { timeoutMs: 170_000 });
  const report = await checkExperimentRun(r, out, 2000, 'mysql');
  // The password never reaches the report.
  if (report.setup.db.includes(new URL(db.url).password)) throw new Error(`report.setup.db shows the password: ${report.setup.db}`);
});
