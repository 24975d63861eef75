import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLatencyTable, parseGcPause, runLatencyBench, type LatencyClient } from '../../../bench/latency.js';

const hasKcat = spawnSync('kcat', ['-V']).status === 0;

test('parseGcPause reads the kind, the main-thread pause and the reason of V8 --trace-gc lines', () => {
  assert.deepEqual(
    parseGcPause('[17022:0x1f9c7160]       48 ms: Scavenge 4.6 (5.7) -> 4.3 (6.5) MB, 0.60 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; '),
    { kind: 'Scavenge', ms: 0.6, reason: 'allocation failure' },
  );
  assert.deepEqual(
    parseGcPause('[17022:0x1f9c7160]      265 ms: Mark-Compact 14.2 (27.0) -> 9.8 (27.7) MB, 7.38 / 1.03 ms  (+ 0.2 ms in 10 steps since start of marking, biggest step 0.0 ms, walltime since start of marking 28 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task; GC in old space requested'),
    { kind: 'Mark-Compact', ms: 7.38, reason: 'finalize incremental marking via task; GC in old space requested' },
  );
  assert.equal(parseGcPause('{"level":30,"msg":"listening on PLAINTEXT://127.0.0.1:9092"}'), null);
});

test('runLatencyBench measures every record sent in the window, with ordered positive percentiles', { timeout: 60_000 }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'latency-bench-test-'));
  try {
    const clients: LatencyClient[] = hasKcat ? ['own', 'kcat'] : ['own'];
    const result = await runLatencyBench({ workDir: work, seconds: 1.5, warmupSeconds: 0.5, rates: [500], clients });
    assert.equal(result.cases.length, clients.length);
    for (const c of result.cases) {
      assert.equal(c.sent, 750, `${c.client}: sends exactly rate × seconds`);
      assert.equal(c.received, c.sent, `${c.client}: every measured record came back`);
      assert.equal(c.latency.count, c.sent, `${c.client}: one histogram entry per measured record`);
      const { p50Ms, p90Ms, p99Ms, p999Ms, maxMs } = c.latency;
      assert.ok(p50Ms > 0 && p50Ms <= p90Ms && p90Ms <= p99Ms && p99Ms <= p999Ms && p999Ms <= maxMs, `${c.client}: ${JSON.stringify(c.latency)}`);
      assert.ok(c.achievedRate > 0 && c.gc.count >= 0 && c.gc.maxPauseMs >= 0);
      assert.equal(c.goalP99Ms, null, 'no goal at 500 msg/s');
    }
    assert.match(formatLatencyTable(result), /p99\.9/);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
});
