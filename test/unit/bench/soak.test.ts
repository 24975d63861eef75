/**
 * bench/soak.ts at a small scale: 16 s at 400 records/s with churn every 5 s and tiny segments, so every part of the
 * soak (producers of each kind, both groups, a leave and a join, segment deletion, samples, the report) runs once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OffsetSet, runSoakBench } from '../../../bench/soak.js';

test('OffsetSet keeps runs, tells repeats apart and counts what another set lacks', () => {
  const a = new OffsetSet();
  for (const o of [0, 1, 2, 5, 4, 3, 10, 8]) assert.equal(a.add(o), true);
  assert.equal(a.add(3), false);
  assert.equal(a.add(10), false);
  assert.equal(a.size, 8);
  const b = new OffsetSet();
  for (const o of [1, 2, 3, 10, 11]) b.add(o);
  assert.equal(a.missingFrom(b), 4); // 0, 4, 5, 8
  assert.equal(b.missingFrom(a), 1); // 11
  assert.equal(a.missingFrom(undefined), 8);
});

test('a short soak: samples, nothing lost, the report holds the series', { timeout: 40_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'tributary-soak-test-'));
  try {
    const reportPath = join(work, 'report', 'soak.html');
    const result = await runSoakBench({
      workDir: work, durationMs: 16_000, ratePerSec: 400, sampleMs: 2000, reportPath, churnMs: 5000,
      segmentBytes: 16 * 1024, retentionBytes: 64 * 1024, retentionCheckMs: 1000, drainTimeoutMs: 10_000, log: () => {},
    });
    assert.ok(result.samples.length >= 6, `${result.samples.length} samples`);
    for (const s of result.samples) {
      assert.ok(s.brokerRssMiB > 0 && s.brokerFds > 0, JSON.stringify(s));
    }
    assert.ok(result.summary.acked > 4000, `acked ${result.summary.acked}`);
    for (const g of result.groups) {
      assert.equal(g.lost, 0, `group ${g.name} lost ${g.lost}`);
      assert.ok(g.firstReads >= result.summary.acked, `group ${g.name} read ${g.firstReads} of ${result.summary.acked}`);
    }
    const main = result.groups.find((g) => g.name === 'main')!;
    assert.ok(main.leaves >= 2 && main.joins >= 5, `main joins ${main.joins} leaves ${main.leaves}`);
    assert.ok(result.logStart.max > 0, 'retention deleted no segment');
    const html = await readFile(reportPath, 'utf8');
    for (const name of ['broker RSS', 'broker open fds', 'main p99', 'acknowledged (in)']) assert.match(html, new RegExp(`data-series="${name.replace(/[()]/g, '\\$&')}"`));
    assert.doesNotMatch(html, /<script|https?:\/\/(?!www\.w3\.org)/, 'the report needs no other file');
    const json = JSON.parse(await readFile(join(work, 'report', 'soak.json'), 'utf8')) as { samples: unknown[] };
    assert.equal(json.samples.length, result.samples.length);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
