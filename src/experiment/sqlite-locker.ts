/**
 * Worker thread of the experiment: opens its own connection to the SQLite file, says it is ready, waits for
 * the go signal (a shared Int32 set by the main thread, so the lock is taken at once, even while the main
 * thread is busy), takes the write lock with BEGIN EXCLUSIVE, holds it for `ms` (a blocking wait: this thread
 * does nothing else), then commits. It runs in its own thread because a direct loader on the main thread
 * blocks inside SQLite's busy wait.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { path, ms, go } = workerData as { path: string; ms: number; go: Int32Array };
const db = new Database(path);
try {
  db.pragma('busy_timeout = 60000');
  parentPort!.postMessage({ type: 'ready' });
  // Bounded: a run that never gives the signal ends the worker after ten minutes.
  Atomics.wait(go, 0, 0, 600_000);
  if (Atomics.load(go, 0) === 1) {
    db.exec('BEGIN EXCLUSIVE');
    const at = performance.now();
    parentPort!.postMessage({ type: 'locked' });
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    db.exec('COMMIT');
    parentPort!.postMessage({ type: 'released', heldMs: performance.now() - at });
  }
} finally {
  db.close();
}
