/**
 * Flags the data commands (produce, consume, perf) share: number parsing that names the flag, and
 * the producer settings (acks, compression, linger, batch size, idempotence) mapped onto ProducerOptions.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Acks, CompressionCodec, ProducerOptions, SendListener } from '../client/producer.js';

/** A commander parser for an integer ≥ `min`. */
export function intArg(min = 0): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${value}"`);
    return n;
  };
}

export const COMPRESSION_CODECS: CompressionCodec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface ProducerFlags {
  acks: string;
  compression: CompressionCodec;
  lingerMs: number;
  batchSize: number;
  idempotence: boolean;
}

/** --acks, --compression, --linger-ms, --batch-size, --no-idempotence. */
export function addProducerFlags(cmd: Command, defaults: { lingerMs?: number } = {}): Command {
  return cmd
    .addOption(new Option('--acks <acks>', 'acknowledgements the leader waits for (all = -1)').choices(['all', '-1', '1', '0']).default('all'))
    .addOption(new Option('--compression <codec>', 'compression of record batches').choices(COMPRESSION_CODECS).default('none'))
    .option('--linger-ms <ms>', 'how long a batch waits for more records', intArg(0), defaults.lingerMs ?? 5)
    .option('--batch-size <bytes>', 'bytes per partition batch', intArg(1), 16384)
    .option('--no-idempotence', 'turn the idempotent producer off (it is on by default, and off whenever --acks is not all)');
}

export function parseAcks(acks: string): Acks {
  return acks === 'all' || acks === '-1' ? 'all' : acks === '1' ? 1 : 0;
}

/**
 * The producer settings from the flags. Idempotence needs acks=all, so, as Kafka's producer does when
 * it was not asked for explicitly, other acks turn it off rather than failing.
 */
export function producerSettings(flags: ProducerFlags): Pick<ProducerOptions, 'acks' | 'compression' | 'lingerMs' | 'batchSize' | 'idempotent'> {
  const acks = parseAcks(flags.acks);
  return { acks, compression: flags.compression, lingerMs: flags.lingerMs, batchSize: flags.batchSize, idempotent: flags.idempotence && acks === 'all' };
}

/** A --from-timestamp value: milliseconds since the epoch, or an ISO-8601 date. */
export function parseTimestamp(value: string): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError(`expected milliseconds since the epoch or an ISO-8601 time like 2024-05-01T12:00:00Z, got "${value}"`);
  return n;
}

/** Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}

/** How long a second Ctrl-C waits for `leaveGroup` before exiting anyway. */
export const SECOND_SIGNAL_BUDGET_MS = 5000;

/**
 * SIGINT / SIGTERM stop the command's loop (it then commits and closes cleanly). A second signal exits — after
 * `leaveGroup`, when given, for at most `budgetMs` (a consumer still leaves its group, so the group does not
 * stay Stable with a dead member until the session times out); a third exits at once. Returns the signal to
 * watch and a function that removes the handlers: call it only once the command has closed its clients, or a
 * signal during the close would kill the process by default.
 */
export function stopOnSignals(options: { leaveGroup?: () => Promise<unknown>; budgetMs?: number } = {}): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (): void => {
    signals++;
    if (signals === 1) {
      controller.abort();
      return;
    }
    if (signals === 2 && options.leaveGroup !== undefined) {
      const budgetMs = options.budgetMs ?? SECOND_SIGNAL_BUDGET_MS;
      process.stderr.write(`leaving the group before exiting (at most ${budgetMs / 1000} s; press Ctrl-C again to exit at once)\n`);
      setTimeout(() => process.exit(130), budgetMs);
      options.leaveGroup().then(() => process.exit(130), () => process.exit(130));
      return;
    }
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** Writes to a stream, waiting for 'drain' when its buffer is full (so a slow reader slows us down). */
export async function writeOut(stream: NodeJS.WritableStream, data: Buffer | string): Promise<void> {
  if (stream.write(data)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('error', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('error', done);
    stream.once('close', done);
  });
}

/** Kafka tools' MB: 2^20 bytes. */
export const MIB = 1024 * 1024;

/**
 * Sends in flight: counts what was sent and what settled, keeps the first failure, and lets a loop
 * wait (event-driven, no polling) until fewer than N are outstanding or all have settled.
 */
export class InFlight {
  sent = 0;
  settled = 0;
  failure: unknown = undefined;
  private wake: (() => void) | null = null;

  get outstanding(): number {
    return this.sent - this.settled;
  }

  /** Counts `p`; `onDone` runs when it resolves. */
  track<T>(p: Promise<T>, onDone: (value: T) => void): void {
    this.sent++;
    p.then(
      (value) => {
        this.settled++;
        onDone(value);
        this.notify();
      },
      (err: unknown) => {
        this.settled++;
        this.failure ??= err;
        this.notify();
      },
    );
  }

  /**
   * A Producer.sendTo listener that settles sends as track() does, per batch: count each send in `sent` yourself;
   * `onDone` hears how many records a batch acknowledged.
   */
  listener(onDone: (records: number) => void): SendListener {
    return {
      onAcknowledged: (_topic, _partition, _lastOffset, records) => {
        this.settled += records;
        onDone(records);
        this.notify();
      },
      onFailed: (_topic, _partition, err, records) => {
        this.settled += records;
        this.failure ??= err;
        this.notify();
      },
    };
  }

  /** Waits until fewer than `limit` are outstanding (or one failed, or `deadline` (performance.now()) passes). */
  async below(limit: number, deadline = Infinity): Promise<void> {
    while (this.outstanding >= limit && this.failure === undefined) {
      const left = deadline - performance.now();
      if (left <= 0) return;
      await new Promise<void>((resolve) => {
        const timer = left === Infinity ? undefined : setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits until every send settled, or `deadline` passes; true when all settled. */
  async drain(deadline = Infinity): Promise<boolean> {
    while (this.outstanding > 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = left === Infinity ? undefined : setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return true;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
