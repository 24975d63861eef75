/** Checks shared by the `tributary experiment` tests: every section present, positive numbers, consistent counts. */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SECTION_TITLES, type ExperimentReport } from '../../src/experiment/report.js';
import type { CliResult } from './cli.js';

const positive = (v: number, what: string): void => assert.ok(Number.isFinite(v) && v > 0, `${what} should be a positive number, is ${v}`);

export async function checkExperimentRun(r: CliResult, outDir: string, rows: number, dbKind: string, lockMs = 3000): Promise<ExperimentReport> {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const report = JSON.parse(await readFile(join(outDir, 'report.json'), 'utf8')) as ExperimentReport;

  // Setup
  assert.equal(report.setup.rows, rows);
  assert.equal(report.setup.dbKind, dbKind);
  positive(report.setup.cores, 'setup.cores');
  assert.match(report.setup.node, /^v\d+/);
  assert.ok(Date.parse(report.setup.startedAt) <= Date.parse(report.setup.finishedAt));

  // Ingest: every variant put exactly the generated rows in the database — the row-by-row insert those it
  // loaded before its bound, the rest projected (and only then).
  assert.deepEqual(report.ingest.variants.map((v) => v.variant), ['direct-row-by-row', 'direct-batched', 'via-broker']);
  const [row, batch, broker] = report.ingest.variants;
  for (const v of report.ingest.variants) {
    assert.equal(v.rows, rows, `${v.variant}: rows`);
    assert.equal(v.dbRows, v === row && row.projected !== null ? v.dbRows : rows, `${v.variant}: rows in the database`);
    positive(v.sourceReleaseMs, `${v.variant}.sourceReleaseMs`);
    positive(v.rowsPerSec, `${v.variant}.rowsPerSec`);
    positive(v.statements, `${v.variant}.statements`);
  }
  assert.equal(batch.projected, null, 'the batched loader loads every row');
  if (row.projected === null) {
    assert.equal(row.dbRows, rows);
  } else {
    assert.ok(row.dbRows >= 1 && row.dbRows < rows, `row-by-row loaded ${row.dbRows} of ${rows} rows`);
    // The projection is the measured rate over every row.
    // elapsedMs is rounded to 0.1 ms, an error the projection multiplies by rows / dbRows.
    const expected = (row.elapsedMs * rows) / row.dbRows;
    const slack = 0.01 * expected + 0.1 + (0.05 * rows) / row.dbRows;
    assert.ok(Math.abs(row.projected.sourceReleaseMs - expected) <= slack, `projected ${row.projected.sourceReleaseMs} ms, expected ${expected} ± ${slack}`);
    assert.ok(row.projected.sourceReleaseMs > row.elapsedMs);
  }
  assert.ok(row.statements >= row.dbRows, 'row-by-row sends a statement per row');
  positive(broker.caughtUpMs, 'broker.caughtUpMs');

  // Locked ingest
  const l = report.ingest.locked;
  assert.ok(l.lockHeldMs >= lockMs * 0.9, `the lock was held about ${lockMs} ms (${l.lockHeldMs})`);
  assert.equal(l.direct.dbRows, rows);
  assert.equal(l.broker.dbRows, rows);
  positive(l.direct.stallMs, 'locked.direct.stallMs');
  positive(l.direct.sourceReleaseMs, 'locked.direct.sourceReleaseMs');
  positive(l.broker.sourceReleaseMs, 'locked.broker.sourceReleaseMs');
  positive(l.broker.caughtUpMs, 'locked.broker.caughtUpMs');
  assert.ok(l.broker.catchUpAfterUnlockMs >= 0);

  // Analytics: both approaches measured every streamed record.
  const a = report.analytics;
  positive(a.records, 'analytics.records');
  assert.equal(a.consumer.count, a.records);
  assert.equal(a.poller.count, a.records);
  for (const [k, s] of [['consumer', a.consumer], ['poller', a.poller]] as const) {
    positive(s.p50Ms, `analytics.${k}.p50Ms`);
    positive(s.p99Ms, `analytics.${k}.p99Ms`);
    assert.ok(s.p99Ms >= s.p50Ms);
  }
  assert.equal(a.consumer.dbQueries, 0);
  positive(a.poller.dbQueries, 'analytics.poller.dbQueries');

  // Many consumers
  const c = report.consumers;
  const consumerRows = report.setup.consumersRows > 0 ? Math.min(rows, report.setup.consumersRows) : rows;
  assert.equal(c.rows, consumerRows);
  assert.deepEqual(c.broker.map((b) => b.extraGroups), [0, 3]);
  for (const b of c.broker) {
    assert.equal(b.dbRows, consumerRows);
    positive(b.producerRowsPerSec, 'producerRowsPerSec');
    positive(b.dbQueries, 'broker dbQueries');
    assert.equal(b.readerQueries, 0);
    assert.equal(b.groups.length, b.extraGroups);
    for (const g of b.groups) assert.equal(g.records, consumerRows, `group ${g.name}`);
  }
  assert.deepEqual(c.direct.map((d) => d.readers), [0, 3]);
  for (const d of c.direct) {
    assert.equal(d.dbRows, consumerRows);
    positive(d.loaderRowsPerSec, 'loaderRowsPerSec');
    positive(d.dbQueries, 'direct dbQueries');
  }
  assert.equal(c.direct[0].readerQueries, 0);
  positive(c.direct[1].readerQueries, 'direct readerQueries with 3 readers');

  assert.equal(report.conclusions.length, 4);

  // Markdown, HTML and stdout carry every section.
  const md = await readFile(join(outDir, 'report.md'), 'utf8');
  const html = await readFile(join(outDir, 'report.html'), 'utf8');
  for (const title of Object.values(SECTION_TITLES)) {
    assert.ok(md.includes(`## ${title}`), `report.md has "## ${title}"`);
    assert.ok(html.includes(`<h2>${title}</h2>`), `report.html has <h2>${title}</h2>`);
  }
  for (const title of [SECTION_TITLES.ingest, SECTION_TITLES.locked, SECTION_TITLES.analytics, SECTION_TITLES.consumers, SECTION_TITLES.conclusions]) {
    assert.ok(r.stdout.includes(title), `stdout has ${title}`);
  }
  assert.ok((html.match(/<svg /g) ?? []).length >= 4, 'report.html has a chart per scenario');
  assert.doesNotMatch(html, /<script|<link|src="http|href="http/, 'report.html is self-contained');
  assert.match(r.stderr, /\[experiment\]/, 'progress lines on stderr');
  return report;
}
