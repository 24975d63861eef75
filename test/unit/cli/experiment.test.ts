/** `tributary experiment` end to end at small scale on SQLite with the embedded broker: the compiled CLI in a child process. */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
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
  const html = await readFile(join(out, 'report.html'), 'utf8');
  // The database the report names is there after the run.
  assert.ok(html.includes(`sqlite:${join(out, 'experiment.db')}`), 'report.html names the database file');
  assert.ok((await stat(join(out, 'experiment.db'))).size > 0);
  // The locked-ingest table says what its comparison column is.
  assert.ok(html.includes('<th>source released, no lock</th>'));
  assert.ok(!html.includes('<th>unlocked</th>'));
  // One colour per approach in every chart, and each chart's legend names the approaches it shows.
  const bars = [...html.matchAll(/<text [^>]*text-anchor="end">([^<]+)<\/text><rect [^>]*fill="(#[0-9a-f]{6})" data-approach="([a-z-]+)"/g)].map((m) => ({ name: m[1], fill: m[2], approach: m[3] }));
  assert.equal(bars.length, 11, 'bars in the four charts');
  const fillOf = new Map<string, string>();
  for (const b of bars) {
    assert.equal(fillOf.get(b.approach) ?? b.fill, b.fill, `${b.name}: ${b.approach} has one colour`);
    fillOf.set(b.approach, b.fill);
    const expected = /broker|streaming/.test(b.name) ? 'broker' : /row-by-row/.test(b.name) ? 'direct-row-by-row' : 'direct';
    assert.equal(b.approach, expected, b.name);
  }
  assert.equal(new Set(fillOf.values()).size, 3, 'three approaches, three colours');
  assert.equal((html.match(/<g class="legend">/g) ?? []).length, 4);
  assert.equal((html.match(/>via the broker<\/text>/g) ?? []).length, 4, 'the broker is in every legend');
});

test('experiment --csv uses the file\'s rows (an id column added) on every variant; a tiny --row-by-row-ms cuts the row-by-row insert short and its time for all rows is reported as projected', { timeout: 120_000 }, async () => {
  const csv = join(dir, 'people.csv');
  const lines = ['name,age,city'];
  for (let i = 0; i < 300; i++) lines.push(`user${i},${18 + ((i * 37) % 78)},"City, ${i % 7}"`);
  await writeFile(csv, lines.join('\n') + '\n');
  const out = join(dir, 'csv-out');
  const r = await runCli(['experiment', '--csv', csv, '--rows', '1000', '--lock-ms', '500', '--duration', '1', '--row-by-row-ms', '1', '--consumers-rows', '120', '--broker', 'process', '--sink-thread', 'main', '--out', out], { timeoutMs: 120_000 });
  const report = await checkExperimentRun(r, out, 300, 'sqlite', 500);
  assert.equal(report.setup.data, csv);
  assert.equal(report.setup.sinkThread, 'main');
  // The broker ran as its own process (tributary start), and the report says so.
  assert.equal(report.setup.brokerPlacement, 'process');
  assert.match(report.setup.broker, /^embedded \(its own process, 127\.0\.0\.1:\d+\)$/);
  const pid = Number(/its own process, pid (\d+)/.exec(r.stderr)?.[1]);
  assert.ok(pid > 0, 'the broker process\'s pid on stderr');
  assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the broker process is gone after the run');
  // The row-by-row insert stopped at its 1 ms budget: fewer rows in the database, a projection for all of them.
  const row = report.ingest.variants[0];
  assert.equal(report.setup.rowByRowMs, 1);
  assert.ok(row.dbRows < 300, `row-by-row loaded ${row.dbRows} of 300 rows`);
  assert.ok(row.projected !== null && row.projected.budgetMs === 1);
  assert.equal(row.statements, row.dbRows, 'a statement per loaded row, measured');
  // Every place that shows its release time says it is projected, never measured.
  const md = await readFile(join(out, 'report.md'), 'utf8');
  const html = await readFile(join(out, 'report.html'), 'utf8');
  const projected = `${(row.projected.sourceReleaseMs / 1000).toFixed(2)} s projected`;
  for (const [what, text] of [['stdout', r.stdout], ['report.md', md], ['report.html', html]] as const) {
    assert.ok(text.includes(projected), `${what} shows "${projected}"`);
    assert.match(text, /direct row-by-row \(cut short, projected\)/, `${what}: the table row says so`);
    assert.match(text, /projected at that rate, not measured/, `${what}: the note under the table`);
  }
  assert.match(report.conclusions[0], new RegExp(`(than|as) with the direct row-by-row insert \\(${projected.replace('.', '\\.')}: ${row.dbRows} of 300 rows loaded`));
  assert.match(html, /<text [^>]*>row-by-row \(projected\)<\/text>/, 'the chart\'s bar is labelled projected');
  // The many-consumers scenario ran on the first 120 rows and says so.
  assert.equal(report.consumers.rows, 120);
  assert.match(report.conclusions[3], /^Many consumers \(120 rows, the first of 300\)/);
  assert.ok(md.includes('On the first 120 of the 300 rows (--consumers-rows).'));
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
