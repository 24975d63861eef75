/**
 * Crash safety of the log cleaner's swap: a child process cleaning a compacted log is SIGKILLed at each step
 * of the .cleaned → .swap → rename protocol (and at random moments), in a bounded loop over one data
 * directory; after every kill the log must load as a valid log holding each key's latest record.
 * COMPACTION_CRASH_LOOPS sets the number of kills (default 10).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { decodeRecordBatch, iterateBatches } from '../../../src/protocol/records/record.js';
import { LogManager } from '../../../src/storage/log-manager.js';
import { CRASH_TOPIC_CONFIG, crashRecordAt } from '../../helpers/compaction-crash-child.js';

const CHILD = fileURLToPath(new URL('../../helpers/compaction-crash-child.js', import.meta.url));
const LOOPS = Number(process.env.COMPACTION_CRASH_LOOPS ?? 10);
const STEPS = ['cleaned', 'swap', 'deleted', 'renamed', 'timer'] as const;

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Runs the child; `timer` mode kills it after a random delay once it is ready. Resolves with how it ended. */
function runChild(dataDir: string, killAt: string, countdown: number, updates: number): Promise<'killed' | 'exited'> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dataDir, killAt, String(countdown), String(updates)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (killAt === 'timer' && out.includes('ready')) setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * 150)).unref();
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal === 'SIGKILL') resolve('killed');
      else if (code === 0) resolve('exited');
      else reject(new Error(`child exited with ${code}`));
    });
  });
}

/** Loads the log as the broker would and checks it; returns its end offset. */
async function verify(dataDir: string): Promise<number> {
  const manager = new LogManager({ dataDir, brokerDefaults: { 'log.cleaner.enable': 'false' } });
  await manager.load([{ name: 't', partitions: 1, config: CRASH_TOPIC_CONFIG }]);
  try {
    const log = manager.getLog('t', 0)!;
    const names = readdirSync(log.dir);
    assert.deepEqual(names.filter((n) => /\.(cleaned|swap)$/.test(n)), [], 'swap leftovers settled on load');
    const survivors = new Map<string, number>(); // key → offset of its last surviving record
    let offset = log.logStartOffset;
    let last = -1;
    while (offset < log.logEndOffset) {
      const buf = log.read(offset, 1 << 20, true);
      assert.ok(buf.length > 0, `nothing readable at ${offset} below the log end ${log.logEndOffset}`);
      for (const { pos, header } of iterateBatches(buf)) {
        offset = header.baseOffset + header.lastOffsetDelta + 1;
        for (const r of decodeRecordBatch(buf, pos).records) {
          assert.ok(r.offset > last, `offsets increase (${r.offset} after ${last})`);
          last = r.offset;
          const expected = crashRecordAt(r.offset);
          assert.equal(r.key?.toString(), expected.key, `key at ${r.offset}`);
          assert.equal(r.value?.toString() ?? null, expected.value, `value at ${r.offset}`);
          survivors.set(expected.key, r.offset);
        }
      }
    }
    // Each key's latest write survives (a tombstone may be gone, but then no older value of its key is there).
    const latest = new Map<string, number>();
    for (let o = 0; o < log.logEndOffset; o++) latest.set(crashRecordAt(o).key, o);
    for (const [key, o] of latest) {
      if (crashRecordAt(o).value === null) assert.ok(!survivors.has(key) || survivors.get(key) === o, `${key}: deleted at ${o}, survivor at ${survivors.get(key)}`);
      else assert.equal(survivors.get(key), o, `${key}: latest at ${o}`);
    }
    return log.logEndOffset;
  } finally {
    await manager.close();
  }
}

test(`SIGKILL during log cleaning, at every swap step and at random (${LOOPS} kills), always recovers a valid compacted log`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'tributary-compaction-crash-'));
  dirs.push(dataDir);
  const seen = new Map<string, number>();
  let end = 0;
  for (let i = 0; i < LOOPS; i++) {
    const killAt = STEPS[i % STEPS.length]!;
    const outcome = await runChild(dataDir, killAt, 1 + (Math.floor(i / STEPS.length) % 3), 1500);
    seen.set(`${killAt}:${outcome}`, (seen.get(`${killAt}:${outcome}`) ?? 0) + 1);
    const next = await verify(dataDir);
    assert.ok(next >= end + 1500, 'nothing appended before the kill was lost');
    end = next;
  }
  // The step kills must actually have happened (the child reached each step).
  for (const step of STEPS.slice(0, 4)) assert.ok((seen.get(`${step}:killed`) ?? 0) > 0, `killed at ${step}: ${JSON.stringify([...seen])}`);
});
