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

/** Makes a directory's entries (created, renamed, deleted files) durable. */
export async function syncDir(dir: string, fdatasync: Fdatasync = defaultFdatasync): Promise<void> {
  const fd = fs.openSync(dir, 'r');
  try {
    await fdatasync(fd);
  } finally {
    fs.closeSync(fd);
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
