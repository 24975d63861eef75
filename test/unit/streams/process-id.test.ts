// The process id behind an exactly_once_v2 transactional.id: kept across restarts, never shared by two live instances.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireProcessId } from '../../../src/streams/process-id.js';

test('the process id is kept in <state.dir>/<application.id> and reused once released; never shared while held', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'streams-pid-'));
  try {
    const a = acquireProcessId(dir, 'app');
    assert.ok(a.persisted);
    const file = JSON.parse(await readFile(join(dir, 'app', 'kafka-streams-process-metadata'), 'utf8')) as { processId: string; pid: number };
    assert.deepEqual(file, { processId: a.id, pid: process.pid });
    const b = acquireProcessId(dir, 'app');
    assert.notEqual(b.id, a.id, 'a second instance in this process while the first holds it');
    assert.equal(b.persisted, false);
    a.release();
    assert.equal(acquireProcessId(dir, 'app').id, a.id, 'the next instance after a release (a restart) takes it again');
    assert.notEqual(acquireProcessId(dir, 'other').id, a.id, 'per application.id');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an id whose file names another live process is not taken; a dead one\'s is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'streams-pid-'));
  try {
    const file = join(dir, 'app', 'kafka-streams-process-metadata');
    acquireProcessId(dir, 'app').release();
    const id = (JSON.parse(await readFile(file, 'utf8')) as { processId: string }).processId;
    await writeFile(file, JSON.stringify({ processId: id, pid: process.ppid }));
    assert.notEqual(acquireProcessId(dir, 'app').id, id, 'held by the live parent process');
    await writeFile(file, JSON.stringify({ processId: id, pid: 2 ** 22 + 12345 }));
    const taken = acquireProcessId(dir, 'app');
    assert.equal(taken.id, id, 'its holder is gone (kill -9): taken over');
    taken.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
