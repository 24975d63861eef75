import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirError, DataDirLock, explainDataDirError } from '../../../src/storage/data-dir-lock.js';

test('DataDirLock: exclusive while held, free again after release, creating the directory', () => {
  const root = mkdtempSync(join(tmpdir(), 'tributary-lock-'));
  const dir = join(root, 'nested', 'data');
  try {
    const lock = DataDirLock.acquire(dir);
    assert.ok(lock.held);
    assert.match(readFileSync(join(dir, '.lock'), 'utf8'), new RegExp(`^pid=${process.pid} started=\\d{4}-`));
    assert.throws(() => DataDirLock.acquire(dir), (err: DataDirError) => {
      assert.equal(err.code, 'ERR_DATA_DIR_LOCKED');
      assert.equal(err.message, `data directory ${dir} is in use by another broker (${readFileSync(join(dir, '.lock'), 'utf8').trim()}): failed to acquire lock on file .lock`);
      return true;
    });
    // The lock is on the file, not the path: the same directory reached through a symlink is refused too.
    symlinkSync(dir, join(root, 'alias'));
    assert.throws(() => DataDirLock.acquire(join(root, 'alias')), /in use by another broker/);
    lock.release();
    lock.release(); // idempotent
    assert.equal(lock.held, false);
    const again = DataDirLock.acquire(dir);
    again.release();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('explainDataDirError names the directory for permission errors inside it, and leaves others alone', () => {
  const dir = '/var/lib/tributary';
  const eacces = Object.assign(new Error("EACCES: permission denied, unlink '/var/lib/tributary/.kafka_cleanshutdown'"), {
    code: 'EACCES', syscall: 'unlink', path: '/var/lib/tributary/.kafka_cleanshutdown',
  });
  const explained = explainDataDirError(eacces, dir) as DataDirError;
  assert.equal(explained.code, 'ERR_DATA_DIR_NOT_WRITABLE');
  assert.equal(explained.message, 'data directory /var/lib/tributary must be writable by this user (permission denied: unlink .kafka_cleanshutdown, EACCES)');
  assert.equal(explained.cause, eacces);
  const erofs = Object.assign(new Error('EROFS'), { code: 'EROFS', syscall: 'open', path: '/var/lib/tributary' });
  assert.match((explainDataDirError(erofs, dir) as Error).message, /must be writable by this user \(it is on a read-only file system: open \., EROFS\)/);
  const elsewhere = Object.assign(new Error('EACCES'), { code: 'EACCES', syscall: 'open', path: '/etc/server.properties' });
  assert.equal(explainDataDirError(elsewhere, dir), elsewhere);
  const listen = Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES', syscall: 'listen' });
  assert.equal(explainDataDirError(listen, dir), listen, 'no path: not about the data directory');
  const other = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', syscall: 'write', path: '/var/lib/tributary/x' });
  assert.equal(explainDataDirError(other, dir), other);
});
