import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { levelOf, RATE_WINDOW_MS, runLogCollection } from '../../../examples/log-collection/main.js';
import { runExampleMain } from './support.js';

const serviceOf = (line: string): string => /\[(\w+)\]/.exec(line)![1];

test('log-collection: alerting sees exactly the ERROR lines, the archive every line, independently', async () => {
  const s = await runLogCollection({ lines: 500 });
  assert.equal(s.lines.length, 500);
  assert.equal(s.produced.INFO + s.produced.WARN + s.produced.ERROR, 500);
  assert.ok(s.produced.ERROR > 0 && s.produced.WARN > 0);
  const errors = s.lines.filter((l) => levelOf(l) === 'ERROR');
  assert.equal(s.alerts.length, s.produced.ERROR);
  assert.deepEqual([...s.alerts].sort(), [...errors].sort());
  // Keyed by service, so one service's alerts arrive in the order it logged them.
  for (const service of new Set(errors.map(serviceOf))) {
    assert.deepEqual(s.alerts.filter((l) => serviceOf(l) === service), errors.filter((l) => serviceOf(l) === service));
  }
  assert.equal(s.archived.length, 500);
  assert.deepEqual([...s.archived].sort(), [...s.lines].sort());
  assert.equal(s.archiveKept, false);
  assert.equal(existsSync(s.archiveFile), false, 'the temp archive is cleaned up');

  // The KafkaStreams error-rate alert: one per (service, 10 s window) with at least the threshold of ERROR lines.
  const perWindow = new Map<string, number>();
  for (const l of errors) {
    const at = Date.parse(l.slice(0, 24));
    const key = `${serviceOf(l)}@${at - (at % RATE_WINDOW_MS)}`;
    perWindow.set(key, (perWindow.get(key) ?? 0) + 1);
  }
  const expected = [...perWindow].filter(([, n]) => n >= s.errorThreshold).map(([k]) => k).sort();
  assert.ok(expected.length > 0 && expected.length < perWindow.size, `some windows cross the threshold, not all: ${expected.length}/${perWindow.size}`);
  assert.deepEqual(s.rateAlerts.map((a) => `${a.service}@${a.windowStart}`).sort(), expected);
  assert.ok(s.rateAlerts.every((a) => a.errors === s.errorThreshold));
});

test('log-collection: one command with --out keeps the archive file', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tributary-example-test-'));
  try {
    const run = await runExampleMain('log-collection', ['--lines', '120', '--out', out]);
    assert.equal(run.code, 0, run.stderr);
    const m = /^log-collection: produced 120 lines \(INFO \d+, WARN \d+, ERROR (\d+)\); alerting raised (\d+) alerts; error rate \(≥ 3 per service per 10 s\) raised \d+; archive wrote 120 lines to (\S+);/.exec(run.stdout);
    assert.ok(m, run.stdout);
    assert.equal(m[1], m[2]);
    const archived = readFileSync(m[3], 'utf8').trim().split('\n');
    assert.equal(archived.length, 120);
    assert.equal(run.stderr.split('\n').filter((l) => l.startsWith('ALERT ')).length, Number(m[1]), 'the alerting consumer prints each ERROR line');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
