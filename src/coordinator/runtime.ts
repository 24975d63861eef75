/**
 * CoordinatorRuntime: runs a coordinator's pure state machine over an internal compacted topic.
 *
 * An operation is a synchronous function of the state machine returning `{ response, records, effects }`.
 * The runtime runs it, encodes the records (key and value each = int16 version + struct, value null =
 * tombstone) and appends them as one batch per internal-topic partition, awaits the fsync, then runs the
 * effects (completions of other members' waiting requests) and returns the response. On start it replays
 * every partition of the internal topic into the state machine, so state survives restarts.
 *
 * Transactions (as Kafka's TxnOffsetCommit): an operation may name a producer; its records are then appended
 * as a transactional batch of that producer, and stay pending in the state machine until the producer's
 * COMMIT/ABORT control marker lands on that partition (written by the transaction coordinator). Replay hands
 * the state machine each record's producer (transactional batches only) and each marker, in log order.
 *
 * Concurrency contract: single JS thread. Operations run one at a time and synchronously, and appends are
 * synchronous, so the log order is the operation order. Timers fire through the Scheduler (injected
 * clock) and are operations too.
 *
 * A failed append: the operation has already changed the machine's state, so memory would be ahead of the log.
 * A machine with `reset()` is reloaded from the log instead (as Kafka reverts a failed write): new operations
 * wait, appends already under way settle, every timer the machine scheduled is cancelled, `reset()` empties it
 * (answering requests that wait in it), the internal topic is replayed and `onLoaded()` runs. The operation's
 * caller gets COORDINATOR_NOT_AVAILABLE either way. Both coordinators (groups, transactions) have `reset()`;
 * a machine without one would stay ahead of the log until the next start.
 */
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MessageCodec } from '../protocol/primitives/codec.js';
import { Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';
import type { Scheduler } from './scheduler.js';

/** One internal-topic record, encoded. */
export interface CoordinatorRecord {
  key: Buffer;
  value: Buffer | null;
}

/** The producer whose transactional batch carries an operation's records. */
export interface TxnProducer {
  producerId: bigint;
  producerEpoch: number;
}

export interface CoordinatorResult<R, T> {
  response: R | Promise<R>;
  records: T[];
  /** Append the records as a transactional batch of this producer (pending until its marker). */
  producer?: TxnProducer;
  /** Run after the records are durable (e.g. answering members waiting on this change). */
  effects?: Array<() => void>;
}

/** Encodes and decodes a state machine's typed records; decode returns null for records it does not own. */
export interface RecordSerde<T> {
  encode(rec: T): CoordinatorRecord;
  decode(rec: CoordinatorRecord): T | null;
  /** The key that picks the internal-topic partition (a group id, a transactional id). */
  partitionKey(rec: T): string;
}

export interface StateMachine<T> {
  /** `producerId` is set for a record of a transactional batch: it waits for that producer's marker. */
  replay(rec: T, producerId?: bigint): void;
  /** A COMMIT/ABORT control marker of `producerId` on internal-topic `partition`, in log order. */
  replayTxnMarker?(partition: number, producerId: bigint, commit: boolean): void;
  /** Called after replay (start timers for loaded state). */
  onLoaded?(): void;
  /** Forget all state (before a reload from the log after a failed append); answer any waiting request. */
  reset?(): void;
}

/** The internal topic as the runtime sees it. */
export interface CoordinatorLog {
  /** Partition count, once the topic exists (or its configured count before). */
  partitionCount(): number;
  exists(): boolean;
  /** Creates the topic if it does not exist yet. */
  ensure(): Promise<void>;
  /** Appends one batch (transactional if `producer` is given) to the partition and makes it durable. */
  append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void>;
  /**
   * Every record of the partition, in offset order, with its producer id if its batch is transactional;
   * `marker` gets the COMMIT/ABORT control markers, in the same order.
   */
  readAll(partition: number, visit: (rec: CoordinatorRecord, producerId?: bigint) => void, marker?: (producerId: bigint, commit: boolean) => void): void;
}

/** A state machine's view of timers: a timer's op runs through the runtime, so its records are persisted. */
export interface Timers<T> {
  now(): number;
  schedule(key: string, delayMs: number, op: () => CoordinatorResult<unknown, T>): void;
  cancel(key: string): void;
}

/** A record key or value as the internal topics store it: int16 version, then the struct at that version. */
export function encodeVersioned<I>(codec: MessageCodec<any, I>, version: number, value: I): Buffer {
  const w = new Writer(128);
  w.writeInt16(version);
  codec.encode(w, version, value);
  return w.toBuffer();
}

/** Reads what encodeVersioned wrote (the struct at the version it starts with). */
export function decodeVersioned<T>(codec: MessageCodec<T, any>, buf: Buffer): T {
  const r = new Reader(buf);
  return codec.decode(r, r.readInt16());
}

/** Java's String.hashCode over UTF-16 code units, as Kafka uses to place a group on a partition. */
export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(h, 31) + s.charCodeAt(i)) | 0;
  return h;
}

/** Kafka's rule: Utils.abs(key.hashCode) % partitions (Utils.abs maps Integer.MIN_VALUE to 0). */
export function partitionFor(key: string, partitions: number): number {
  const h = javaStringHashCode(key);
  return (h === -2147483648 ? 0 : Math.abs(h)) % partitions;
}

export class CoordinatorRuntime<T> {
  private machine: StateMachine<T> | undefined;
  private loaded: Promise<void> | undefined;
  private ensured: Promise<void> | undefined;
  /** Set while the machine is reloaded from the log after a failed append; operations wait for it. */
  private reloading: Promise<void> | undefined;
  private readonly inflight = new Set<Promise<void>>();
  /** Keys of the machine's scheduled timers, cancelled on a reload. */
  private readonly timerKeys = new Set<string>();
  readonly timers: Timers<T>;

  constructor(
    private readonly log: CoordinatorLog,
    private readonly serde: RecordSerde<T>,
    private readonly scheduler: Scheduler,
    private readonly logger?: Pick<Logger, 'error' | 'info'>,
  ) {
    this.timers = {
      now: () => scheduler.now(),
      schedule: (key, delayMs, op) => {
        this.timerKeys.add(key);
        scheduler.schedule(key, delayMs, () => {
          this.timerKeys.delete(key);
          void this.execute(op).catch(() => {});
        });
      },
      cancel: (key) => {
        this.timerKeys.delete(key);
        scheduler.cancel(key);
      },
    };
  }

  bind(machine: StateMachine<T>): void {
    this.machine = machine;
  }

  /** Replays the internal topic (if it exists) into the state machine. Idempotent. */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      this.replayAll();
    })();
    return this.loaded;
  }

  private replayAll(): void {
    const machine = this.requireMachine();
    if (this.log.exists()) {
      let count = 0;
      for (let p = 0; p < this.log.partitionCount(); p++) {
        this.log.readAll(p, (raw, producerId) => {
          const rec = this.serde.decode(raw);
          if (rec !== null) {
            machine.replay(rec, producerId);
            count++;
          }
        }, (producerId, commit) => machine.replayTxnMarker?.(p, producerId, commit));
      }
      this.logger?.info({ records: count }, 'coordinator state loaded');
    }
    machine.onLoaded?.();
  }

  /** After a failed append: the log is the truth. Waits for appends under way, then rebuilds the machine from it. */
  private reload(): Promise<void> {
    const machine = this.requireMachine();
    if (!machine.reset) return Promise.resolve();
    this.reloading ??= (async () => {
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      for (const key of [...this.timerKeys]) this.timers.cancel(key);
      machine.reset!();
      this.replayAll();
      this.logger?.info('coordinator state reloaded from the log after a failed append');
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Creates the internal topic on first use (as Kafka does on the first FindCoordinator). */
  ensureTopic(): Promise<void> {
    this.ensured ??= this.load().then(() => this.log.ensure()).catch((err) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.log.partitionCount());
  }

  /** Runs a state-changing operation: creates the topic if needed, persists its records, returns its response. */
  async run<R>(op: () => CoordinatorResult<R, T>): Promise<R> {
    await this.ensureTopic();
    return this.execute(op);
  }

  /** Runs a read-only operation once the state is loaded; never creates the topic. */
  async query<R>(op: () => R): Promise<R> {
    await this.load();
    return op();
  }

  private async execute<R>(op: () => CoordinatorResult<R, T>): Promise<R> {
    while (this.reloading) await this.reloading;
    const result = op();
    if (result.records.length > 0) {
      const persisted = this.persist(result.records, result.producer);
      this.inflight.add(persisted);
      try {
        await persisted;
      } catch (err) {
        this.logger?.error({ err }, 'coordinator append failed');
        this.inflight.delete(persisted);
        await this.reload().catch((reloadErr: unknown) => this.logger?.error({ err: reloadErr }, 'coordinator reload failed'));
        throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'The coordinator could not persist its state', { cause: err });
      } finally {
        this.inflight.delete(persisted);
      }
    }
    if (result.effects) for (const effect of result.effects) effect();
    return await result.response;
  }

  private async persist(records: T[], producer: TxnProducer | undefined): Promise<void> {
    const byPartition = new Map<number, CoordinatorRecord[]>();
    for (const rec of records) {
      const p = this.partitionOf(this.serde.partitionKey(rec));
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(this.serde.encode(rec));
    }
    await Promise.all([...byPartition].map(([p, list]) => this.log.append(p, list, producer)));
  }

  private requireMachine(): StateMachine<T> {
    if (!this.machine) throw new Error('CoordinatorRuntime: no state machine bound');
    return this.machine;
  }
}

/**
 * Waits for a coordinator response that may wait on other members (JoinGroup, SyncGroup), but answers
 * `onAbort()` at once when the broker shuts down, so shutdown is not held up by a rebalance.
 */
export function untilAborted<R>(response: Promise<R>, signal: AbortSignal, onAbort: () => R): Promise<R> {
  if (signal.aborted) return Promise.resolve(onAbort());
  return new Promise<R>((resolve, reject) => {
    const abort = (): void => resolve(onAbort());
    signal.addEventListener('abort', abort, { once: true });
    response.then(
      (r) => {
        signal.removeEventListener('abort', abort);
        resolve(r);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
