/** `tributary experiment` end to end at small scale on SQLite with the embedded broker: the compiled CLI in a child process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../helpers/cli.js';
import { checkExperimentRun } from '../../helpers/experiment-report.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-experiment-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('experiment --rows 2000 on SQLite writes every section with measured, consistent numbers', { timeout: 120_000 }, async () => {
  const out = join(dir, 'out');
  const r = await runCli(['experiment', '--rows', '2000', '--out', out], { timeoutMs: 120_000 });
  await checkExperimentRun(r, out, 2000, 'sqlite');
  const files = await readdir(out);
  for (const f of ['report.json', 'report.md', 'report.html', 'experiment.db']) assert.ok(files.includes(f), `${f} in --out`);
});

test('experiment --csv uses the file\'s rows (an id column added) on every variant', { timeout: 120_000 }, async () => {
  const csv = join(dir, 'people.csv');
  const lines = ['name,age,city'];
  for (let i = 0; i < 300; i++) lines.push(`user${i},${18 + ((i * 37) % 78)},"City, ${i % 7}"`);
  await writeFile(csv, lines.join('\n') + '\n');
  const out = join(dir, 'csv-out');
  const r = await runCli(['experiment', '--csv', csv, '--rows', '1000', '--lock-ms', '500', '--duration', '1', '--out', out], { timeoutMs: 120_000 });
  const report = await checkExperimentRun(r, out, 300, 'sqlite', 500);
  assert.equal(report.setup.data, csv);
});

test('experiment --help explains the scenarios and the outputs', async () => {
  const r = await runCli(['experiment', '--help']);
  assert.equal(r.code, 0);
  for (const s of ['--rows', '--db', '--csv', '--bootstrap-server', '--out', 'High-speed ingest', 'Real-time analytics', 'Many consumers', 'report.html']) {
    assert.ok(r.stdout.includes(s), `--help mentions ${s}`);
  }
});

test('experiment refuses an unknown --db with a usage error', async () => {
  const r = await runCli(['experiment', '--rows', '10', '--db', 'oracle://x', '--out', join(dir, 'bad')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--db must be.*\n\(run with --help for usage\)/);
});
