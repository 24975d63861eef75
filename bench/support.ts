/** Small pieces several benches share. */
import { spawn } from 'node:child_process';
import { Producer, type ProducerOptions } from '../src/client/producer.js';

/** The middle value (the upper one of an even count). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The item whose `key` is the median (the upper one of an even count). */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  const s = [...items].sort((a, b) => key(a) - key(b));
  return s[Math.floor(s.length / 2)]!;
}

/** Records per request and requests in flight of produceBatches. */
const BATCH = 1000;
const IN_FLIGHT = 4;

/**
 * Produces `count` records of `recordBytes` each with the own client, in batches of 1,000 with 4 requests in flight,
 * and returns the records per second.
 */
export async function produceBatches(options: ProducerOptions, topic: string, count: number, recordBytes = 100): Promise<number> {
  const producer = new Producer(options);
  const value = Buffer.alloc(recordBytes, 'x');
  try {
    await producer.connect();
    const started = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next * BATCH < count) {
        const b = next++;
        const n = Math.min(BATCH, count - b * BATCH);
        await producer.sendBatch(Array.from({ length: n }, () => ({ topic, value })));
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
    return count / ((performance.now() - started) / 1000);
  } finally {
    await producer.close();
  }
}

/** Runs a command and counts the newlines it prints, without holding its output. */
export function countLines(command: string, args: readonly string[], timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(lines);
      else reject(new Error(`${command} ${args.join(' ')} ended with ${code ?? signal}: ${stderr}`));
    });
  });
}

/** `p`, or a rejection naming `what` when `ms` pass first; the timer never outlives the race. */
export async function withTimeout<T>(what: string, ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
