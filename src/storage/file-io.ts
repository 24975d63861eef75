/**
 * Small file primitives shared by the storage files: full positional reads/writes, fdatasync as a promise
 * (the injectable unit of durability), directory fsync, and atomic small-file replacement
 * (write temp → fsync → rename → fsync directory), so a crash leaves either the old or the new file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** How storage makes one file durable. Injectable so tests can count syncs. */
export type Fdatasync = (fd: number) => Promise<void>;

export const defaultFdatasync: Fdatasync = (fd) =>
  new Promise((resolve, reject) => {
    fs.fdatasync(fd, (err) => (err ? reject(err) : resolve()));
  });

/** pwrite until done (writeSync may write less than asked). */
export function writeFully(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

/** pread until `length` bytes or EOF; returns the bytes read. */
export function readFully(fd: number, buf: Buffer, position: number, length = buf.length): number {
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Per fdatasync function, per directory: the sync not started yet that new callers join, and the one running. */
const dirSyncs = new WeakMap<Fdatasync, Map<string, { waiting: Promise<void> | null; running: Promise<void> | null }>>();

/**
 * Makes a directory's entries (created, renamed, deleted files) durable: resolves once an fsync of the directory
 * that started after the call has finished. Callers of the same directory share one: while an fsync runs, the
 * next callers wait for one more (which covers them all), so 10,000 new partitions' first flushes fsync their
 * parent directory a few times, not 10,000 times.
 */
export function syncDir(dir: string, fdatasync: Fdatasync = defaultFdatasync): Promise<void> {
  let byDir = dirSyncs.get(fdatasync);
  if (!byDir) dirSyncs.set(fdatasync, (byDir = new Map()));
  let state = byDir.get(dir);
  if (!state) byDir.set(dir, (state = { waiting: null, running: null }));
  if (state.waiting) return state.waiting;
  const s = state;
  const prior = s.running;
  const waiting = (async () => {
    // Behind a running fsync (it may have started before this caller's change); else after this turn's callers.
    if (prior) await prior.catch(() => undefined);
    else await new Promise<void>((resolve) => setImmediate(resolve));
    s.waiting = null;
    const running = syncDirOnce(dir, fdatasync);
    s.running = running;
    try {
      await running;
    } finally {
      if (s.running === running) s.running = null;
      if (!s.running && !s.waiting && byDir.get(dir) === s) byDir.delete(dir);
    }
  })();
  s.waiting = waiting;
  return waiting;
}

/**
 * Directory fsyncs holding a descriptor at once. Each holds its directory open until the fsync returns, and libuv
 * runs only a few at a time anyway: 10,000 partitions flushed together opened 10,000 directories (on top of their
 * segments' descriptors) and ran out of descriptors (EMFILE). The rest wait for a slot, without a descriptor.
 */
const MAX_DIR_SYNCS_IN_FLIGHT = 32;
let dirSyncsInFlight = 0;
const dirSyncSlots: Array<() => void> = [];

async function syncDirOnce(dir: string, fdatasync: Fdatasync): Promise<void> {
  if (dirSyncsInFlight >= MAX_DIR_SYNCS_IN_FLIGHT) await new Promise<void>((resolve) => dirSyncSlots.push(resolve));
  else dirSyncsInFlight++;
  try {
    // Opened and closed synchronously: asynchronous ones would queue behind every pending fdatasync in libuv's pool.
    const fd = fs.openSync(dir, 'r');
    try {
      await fdatasync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    // The slot passes straight to the next waiter (the count stays), or is given back.
    const next = dirSyncSlots.shift();
    if (next) next();
    else dirSyncsInFlight--;
  }
}

export function syncDirSync(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Temp file name used by the atomic writers; a leftover one is garbage from a crash. */
export function tempPathOf(file: string): string {
  return `${file}.tmp`;
}

/**
 * Replaces `file` atomically (temp file, rename). `durable` (the default) fsyncs the temp file before the rename and
 * the directory after it; without it a power loss may leave the old file, none, or an empty one — for a file its
 * reader can rebuild when it is missing or malformed.
 */
export function writeFileAtomicSync(file: string, data: string | Buffer, opts: { durable?: boolean } = {}): void {
  const durable = opts.durable !== false;
  const tmp = tempPathOf(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    writeFully(fd, typeof data === 'string' ? Buffer.from(data) : data, 0);
    if (durable) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  if (durable) syncDirSync(path.dirname(file));
}

export async function writeFileAtomic(file: string, data: string | Buffer): Promise<void> {
  const tmp = tempPathOf(file);
  const fh = await fs.promises.open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fs.promises.rename(tmp, file);
  await syncDir(path.dirname(file));
}
