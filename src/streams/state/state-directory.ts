// The on-disk layout of persistent state (Kafka's StateDirectory):
//   <state.dir>/<application.id>/<subtopology>_<partition>/   a task's directory, created when the task opens a
//                                                            persistent store
//       .lock          held while a task runs it: {"pid": ..., "instance": ...}
//       .checkpoint    the changelog offsets the task's persistent stores hold (Kafka's OffsetCheckpoint text:
//                      version 0, a count, then "<topic> <partition> <offset>" lines; offset = the last changelog
//                      record the store holds, restoration starts after it)
//       <store>.db     one SQLite database per persistent store (plus its -wal/-shm files)
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, fsyncSync, existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { StreamsException } from '../config.js';

/** Kafka's default state.dir (ours is the same). */
export const DEFAULT_STATE_DIR = '/tmp/kafka-streams';

export function taskDirectory(stateDir: string | undefined, applicationId: string, taskId: string): string {
  return join(stateDir ?? DEFAULT_STATE_DIR, applicationId, taskId);
}

/** This process's identity in lock files; the directories it holds, so two instances in one process exclude each other too. */
const INSTANCE = randomUUID();
const held = new Set<string>();

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Locks a task directory (creating it) or throws a StreamsException naming the holder. A lock left by a process
 * that is gone (a crash) is taken over; one held by a live process, or by another task in this one, is not.
 */
export function lockTaskDirectory(dir: string): () => void {
  mkdirSync(dir, { recursive: true });
  const lockFile = join(dir, '.lock');
  if (held.has(dir)) throw new StreamsException(`task directory ${dir} is locked by another KafkaStreams instance in this process`);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeFileSync(fd, JSON.stringify({ pid: process.pid, instance: INSTANCE }));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
      let holder: { pid?: number; instance?: string } = {};
      try { holder = JSON.parse(readFileSync(lockFile, 'utf8')) as typeof holder; } catch { /* unreadable: stale */ }
      const stale = holder.pid === undefined || (holder.pid === process.pid ? holder.instance !== INSTANCE : !pidAlive(holder.pid));
      if (!stale) throw new StreamsException(`task directory ${dir} is locked by process ${holder.pid} (another instance on the same state.dir)`);
      rmSync(lockFile, { force: true });
    }
  }
  held.add(dir);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.delete(dir);
    rmSync(lockFile, { force: true });
  };
}

const key = (topic: string, partition: number): string => `${topic} ${partition}`;

/** The checkpoint: "<topic> <partition>" → the last changelog offset the stores hold. Empty without a file. */
export function readCheckpoint(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const file = join(dir, '.checkpoint');
  if (!existsSync(file)) return out;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
  if (lines[0] !== '0') throw new StreamsException(`${file}: unknown checkpoint version ${lines[0]}`);
  const n = Number(lines[1]);
  for (const line of lines.slice(2, 2 + n)) {
    const [topic, partition, offset] = line.split(' ');
    out.set(key(topic, Number(partition)), Number(offset));
  }
  return out;
}

export function checkpointOffset(cp: Map<string, number>, topic: string, partition: number): number | undefined {
  return cp.get(key(topic, partition));
}

/** Writes the checkpoint atomically (a temporary file, fsync, rename). */
export function writeCheckpoint(dir: string, offsets: ReadonlyArray<{ topic: string; partition: number; offset: number }>): void {
  const file = join(dir, '.checkpoint');
  const tmp = `${file}.tmp`;
  const text = ['0', String(offsets.length), ...offsets.map((o) => `${o.topic} ${o.partition} ${o.offset}`)].join('\n') + '\n';
  const fd = openSync(tmp, 'w');
  try {
    writeFileSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

export function deleteCheckpoint(dir: string): void {
  rmSync(join(dir, '.checkpoint'), { force: true });
}
