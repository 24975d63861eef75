/**
 * One broker per data directory: Kafka's `.lock` in each log dir ("Failed to acquire lock on file .lock").
 *
 * On disk: `<dataDir>/.lock`, one line `pid=<pid> started=<ISO time>` naming the holder — for the refusal
 * message only. The lock itself is an OS lock on the open file, taken with fs-native-extensions: on Linux an
 * open-file-description lock (fcntl F_OFD_SETLK, which NFS honours too), flock on macOS, LockFileEx on
 * Windows. Why a native lock rather than a pid file: the kernel drops it when the holder's descriptor closes —
 * at release() or when the process dies, kill -9 included — so a stale `.lock` never blocks a restart, a reused
 * pid cannot impersonate a dead holder, and there is no window in which two starters both judge a lock stale
 * and both take it. The lock belongs to the open file description, not to the process, so a second broker in
 * the same process is refused as well. The file is never deleted (deleting it would let a third starter lock a
 * fresh inode while the second still holds the old one).
 *
 * Concurrency: acquire() is synchronous and must run before anything else in the directory is read or written.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { TributaryError } from '../errors.js';

export const LOCK_FILE = '.lock';

interface NativeLock {
  /** Exclusive, non-blocking; false when another open file description holds it. */
  tryLock(fd: number): boolean;
}
let native: NativeLock | undefined;

/** Loaded on first use, so importing the package (e.g. for the client alone) never loads the native addon. */
function nativeLock(): NativeLock {
  if (native === undefined) {
    try {
      native = createRequire(import.meta.url)('fs-native-extensions') as NativeLock;
    } catch (err) {
      throw new DataDirError('ERR_DATA_DIR_LOCK_UNAVAILABLE',
        `cannot lock data directories on ${process.platform}-${process.arch}: fs-native-extensions did not load (${(err as Error).message})`, { cause: err });
    }
  }
  return native;
}

/** The data directory is locked by another broker, or cannot be used at all (not writable, or not lockable). */
export class DataDirError extends TributaryError {
  constructor(code: 'ERR_DATA_DIR_LOCKED' | 'ERR_DATA_DIR_NOT_WRITABLE' | 'ERR_DATA_DIR_LOCK_UNAVAILABLE', message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

const PERMISSION_CODES = new Set(['EACCES', 'EPERM', 'EROFS']);

/**
 * A permission error on a file of `dataDir` as one sentence that names the directory and says it must be
 * writable; any other error unchanged.
 */
export function explainDataDirError(err: unknown, dataDir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (!(err instanceof Error) || e.code === undefined || !PERMISSION_CODES.has(e.code) || typeof e.path !== 'string') return err;
  const file = path.relative(dataDir, e.path);
  if (file.startsWith('..') || path.isAbsolute(file)) return err; // not in the data directory
  const what = e.syscall ? `${e.syscall} ${file === '' ? '.' : file}` : file;
  const why = e.code === 'EROFS' ? 'it is on a read-only file system' : 'permission denied';
  return new DataDirError('ERR_DATA_DIR_NOT_WRITABLE',
    `data directory ${dataDir} must be writable by this user (${why}: ${what}, ${e.code})`, { cause: err });
}

export class DataDirLock {
  private fd: number | undefined;

  private constructor(readonly dataDir: string, fd: number) {
    this.fd = fd;
  }

  /**
   * Creates `dataDir` if needed and locks it, or throws DataDirError: locked by another broker (naming its pid
   * when the file says), or not writable.
   */
  static acquire(dataDir: string): DataDirLock {
    const file = path.join(dataDir, LOCK_FILE);
    const lockApi = nativeLock();
    let fd: number;
    try {
      fs.mkdirSync(dataDir, { recursive: true });
      // 'a+' creates without truncating: the holder's line stays readable until we own the lock.
      fd = fs.openSync(file, 'a+', 0o644);
    } catch (err) {
      throw explainDataDirError(err, dataDir);
    }
    let locked: boolean;
    try {
      locked = lockApi.tryLock(fd);
    } catch (err) {
      fs.closeSync(fd);
      // ENOLCK and the like: a file system without locks. Refuse rather than risk two brokers on one directory.
      throw new DataDirError('ERR_DATA_DIR_LOCK_UNAVAILABLE', `cannot lock ${file} (${(err as Error).message}): the data directory must be on a file system that supports file locks`, { cause: err });
    }
    if (!locked) {
      const holder = readHolder(fd);
      fs.closeSync(fd);
      throw new DataDirError('ERR_DATA_DIR_LOCKED',
        `data directory ${dataDir} is in use by another broker${holder ? ` (${holder})` : ''}: failed to acquire lock on file ${LOCK_FILE}`);
    }
    try {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, `pid=${process.pid} started=${new Date().toISOString()}\n`);
    } catch (err) {
      fs.closeSync(fd);
      throw explainDataDirError(err, dataDir);
    }
    return new DataDirLock(dataDir, fd);
  }

  get held(): boolean {
    return this.fd !== undefined;
  }

  /** Drops the lock (closing the descriptor is what releases it). Idempotent. */
  release(): void {
    if (this.fd === undefined) return;
    const fd = this.fd;
    this.fd = undefined;
    fs.closeSync(fd);
  }
}

/** The holder's `pid=… started=…` line, if the file has one. */
function readHolder(fd: number): string | undefined {
  try {
    const buf = Buffer.alloc(200);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    const line = buf.subarray(0, n).toString('utf8').split('\n')[0]!.trim();
    return /^pid=\d+/.test(line) ? line : undefined;
  } catch {
    return undefined;
  }
}
