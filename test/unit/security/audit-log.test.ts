import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { AuditLog, AUDIT_LOG_FILE, formatAuditLine } from '../../../src/security/audit-log.js';
import type { AuditEvent } from '../../../src/security/audit.js';

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Array<{ level: number; msg: string; [k: string]: unknown }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

const event = (i: number): AuditEvent => ({
  type: 'change', principal: 'User:alice', clientHost: '127.0.0.1', listener: 'PLAINTEXT', clientId: 'cli',
  operation: 'CreateTopics', resource: { type: 'TOPIC', name: `t${i}` }, result: 'success', details: { seq: i },
});

const readLines = (path: string): any[] => readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-audit-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('AuditLog (the audit file)', () => {
  test('one JSON line per event, in order: ISO-8601 UTC timestamp, node id, then the event; everything written by close()', () => withDir(async (dir) => {
    const { logger } = capturingLogger();
    const log = new AuditLog({ dir: join(dir, 'audit'), nodeId: 7, maxBytes: 100 * 1024 * 1024, maxFiles: 10, logger, now: () => Date.UTC(2025, 0, 2, 3, 4, 5, 6) });
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 2000; i++) log.record(event(i));
    const recordNs = Number(process.hrtime.bigint() - t0);
    // record() only queues: nothing is on disk yet when it returns (it never waits for the disk).
    assert.equal(existsSync(join(dir, 'audit', AUDIT_LOG_FILE)), false);
    await log.close();
    const lines = readLines(join(dir, 'audit', AUDIT_LOG_FILE));
    assert.equal(lines.length, 2000);
    assert.deepEqual(lines[0], {
      timestamp: '2025-01-02T03:04:05.006Z', nodeId: 7, type: 'change', principal: 'User:alice', clientHost: '127.0.0.1', listener: 'PLAINTEXT',
      clientId: 'cli', operation: 'CreateTopics', resource: { type: 'TOPIC', name: 't0' }, result: 'success', details: { seq: 0 },
    });
    assert.deepEqual(lines.map((l) => l.details.seq), [...Array(2000).keys()]);
    assert.equal(log.written, 2000);
    assert.equal(log.dropped, 0);
    assert.ok(recordNs / 2000 < 200_000, `record() took ${recordNs / 2000} ns per event`);
    // After close, events are counted as dropped, never thrown.
    log.record(event(2000));
    assert.equal(log.dropped, 1);
  }));

  test('bigint details are written as strings', () => {
    const line = formatAuditLine({ ...event(0), details: { offset: 12n } }, 1, 0);
    assert.equal(JSON.parse(line).details.offset, '12');
    assert.ok(line.endsWith('}\n'));
  });

  test('rotation by size: audit.log → audit.log.1 …, at most max.files files, the newest events kept in order', () => withDir(async (dir) => {
    const { logger } = capturingLogger();
    const maxBytes = 4096;
    const log = new AuditLog({ dir, nodeId: 1, maxBytes, maxFiles: 3, logger });
    const total = 300;
    // In rounds, so several batches (and several rotations) happen.
    for (let round = 0; round < 10; round++) {
      for (let i = round * 30; i < (round + 1) * 30; i++) log.record(event(i));
      await log.flush();
    }
    await log.close();
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, ['audit.log', 'audit.log.1', 'audit.log.2']);
    for (const f of files) assert.ok(statSync(join(dir, f)).size <= maxBytes, `${f} is ${statSync(join(dir, f)).size} bytes`);
    const seqs = ['audit.log.2', 'audit.log.1', 'audit.log'].flatMap((f) => readLines(join(dir, f)).map((l) => l.details.seq));
    assert.ok(seqs.length > 0 && seqs.length < total, `${seqs.length} events kept`);
    // The kept events are the newest, contiguous, ending with the last one.
    assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => total - seqs.length + i));
  }));

  test('max.files=1: the file is started afresh at the limit', () => withDir(async (dir) => {
    const log = new AuditLog({ dir, nodeId: 1, maxBytes: 1000, maxFiles: 1, logger: capturingLogger().logger });
    for (let i = 0; i < 40; i++) {
      log.record(event(i));
      await log.flush();
    }
    await log.close();
    assert.deepEqual(readdirSync(dir), ['audit.log']);
    const seqs = readLines(join(dir, 'audit.log')).map((l) => l.details.seq);
    assert.equal(seqs.at(-1), 39);
    assert.ok(statSync(join(dir, 'audit.log')).size <= 1000);
  }));

  test('bounded memory: past max queued bytes events are dropped and counted, with one warning line', () => withDir(async (dir) => {
    const { logger, lines } = capturingLogger();
    const log = new AuditLog({ dir, nodeId: 1, maxBytes: 1 << 30, maxFiles: 2, logger, maxQueuedBytes: 10_000 });
    for (let i = 0; i < 1000; i++) log.record(event(i));
    await log.close();
    assert.ok(log.dropped > 900, `dropped ${log.dropped}`);
    assert.equal(log.written + log.dropped, 1000);
    assert.equal(readLines(join(dir, 'audit.log')).length, log.written);
    assert.equal(lines.filter((l) => l.level === 40).length, 1);
  }));

  test('a full disk (ENOSPC from /dev/full): no throw, events dropped and counted, one warning; writing resumes when space returns', () => withDir(async (dir) => {
    const { logger, lines } = capturingLogger();
    symlinkSync('/dev/full', join(dir, AUDIT_LOG_FILE));
    const log = new AuditLog({ dir, nodeId: 1, maxBytes: 1 << 30, maxFiles: 2, logger, retryMs: 50 });
    for (let i = 0; i < 10; i++) {
      log.record(event(i));
      await new Promise((r) => setTimeout(r, 5));
    }
    await log.flush();
    assert.equal(log.written, 0);
    assert.equal(log.dropped, 10);
    const warnings = lines.filter((l) => l.level === 40);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.code, 'ENOSPC');
    // Space again: the next write (after retryMs) succeeds and says so once.
    unlinkSync(join(dir, AUDIT_LOG_FILE));
    log.record(event(10));
    log.record(event(11));
    await log.close();
    assert.deepEqual(readLines(join(dir, AUDIT_LOG_FILE)).map((l) => l.details.seq), [10, 11]);
    assert.equal(log.written, 2);
    assert.equal(lines.filter((l) => l.msg === 'audit log: writing again').length, 1);
  }));

  test('an unusable directory (a file in the way): no throw, one warning, close() still resolves', () => withDir(async (dir) => {
    const { logger, lines } = capturingLogger();
    writeFileSync(join(dir, 'not-a-dir'), 'x');
    const log = new AuditLog({ dir: join(dir, 'not-a-dir', 'audit'), nodeId: 1, maxBytes: 1000, maxFiles: 2, logger, retryMs: 10_000 });
    for (let i = 0; i < 5; i++) log.record(event(i));
    for (let n = 0; n < 100 && log.dropped < 5; n++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(log.dropped, 5);
    for (let i = 5; i < 8; i++) log.record(event(i));
    const started = Date.now();
    await log.close();
    assert.ok(Date.now() - started < 2000, 'close does not wait out the retry delay');
    assert.equal(log.dropped, 8);
    assert.equal(lines.filter((l) => l.level === 40).length, 1);
  }));
});
