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
 *
 * Ownership (Kafka's coordinator onElection/onResignation): the runtime serves only the internal-topic
 * partitions it was elected for — the ones this broker leads. `onElection(p, epoch)` replays partition p (its
 * keys answer COORDINATOR_LOAD_IN_PROGRESS meanwhile); `onResignation(p, epoch)` drops p's state from the
 * machine (`unload(p)`) and its keys answer NOT_COORDINATOR from then on. Epochs are the partition's leader
 * epochs: an election or resignation older than what the runtime has seen is ignored. An append refused with
 * NOT_LEADER_OR_FOLLOWER resigns its partition and answers NOT_COORDINATOR (the log is another broker's now;
 * no reload). On a single node `load()` elects every partition at epoch 0.
 */
import { KafkaError } from '../errors.js';
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
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
  /**
   * Called after internal-topic `partition` is replayed (start timers for its loaded state); with no
   * partition, once after a load that replayed none (the topic has no partitions yet).
   */
  onLoaded?(partition?: number): void;
  /** Forget all state (before a reload from the log after a failed append); answer any waiting request. */
  reset?(): void;
  /**
   * Forget the state whose key maps to internal-topic `partition` (this broker no longer coordinates it):
   * cancel its timers and answer the requests waiting in it with NOT_COORDINATOR.
   */
  unload?(partition: number): void;
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

/** A partition this runtime coordinates: loading (operations answer COORDINATOR_LOAD_IN_PROGRESS) or active. */
interface OwnedPartition {
  epoch: number;
  loading: boolean;
  /** Settles when the load ends (replayed, or abandoned because the partition was resigned meanwhile). */
  loaded: Promise<void>;
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
  /** The internal-topic partitions this runtime coordinates (this broker leads them). */
  private readonly owned = new Map<number, OwnedPartition>();
  /** The epoch of each partition's last resignation that named one: an election at or below it is stale. */
  private readonly resignedEpochs = new Map<number, number>();
  /**
   * Single node (`load()`): every partition of the topic is this runtime's, including ones a topic created
   * later has beyond the configured count; this counts the partitions elected so far that way.
   */
  private leadsAll = 0;
  /** Records replayed so far by `load()` (undefined outside it). */
  private replayedRecords: number | undefined;
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

  /**
   * A cluster: partitions are this broker's only as elected (onElection), so load() (which run, query and
   * ensureTopic call) elects nothing. Without it, a request that reached a broker before any election made it
   * claim every partition of the topic, as a single node does, and serve state that another broker leads.
   */
  electedFromOutside(): void {
    this.loaded ??= Promise.resolve();
  }

  /** A single node leads every partition: elects each at epoch 0 and waits until all are loaded. Idempotent. */
  load(): Promise<void> {
    this.loaded ??= (async () => {
      const count = this.log.partitionCount();
      this.leadsAll = count;
      this.replayedRecords = 0;
      await Promise.all(Array.from({ length: count }, (_, p) => this.elect(p, 0)));
      if (count === 0) this.requireMachine().onLoaded?.();
      if (this.log.exists()) this.logger?.info({ records: this.replayedRecords }, 'coordinator state loaded');
      this.replayedRecords = undefined;
    })();
    return this.loaded;
  }

  /**
   * This broker now leads internal-topic `partition` at `epoch` (Kafka's coordinator epoch, the partition's
   * leader epoch): replays it into the machine and serves it. Meanwhile its keys answer
   * COORDINATOR_LOAD_IN_PROGRESS. An election at an epoch older than the one already owned or resigned is a
   * no-op; one for a partition already owned only raises its epoch.
   */
  onElection(partition: number, epoch: number): Promise<void> {
    // Elections from outside before any load: partitions are this broker's only as elected (a cluster).
    this.loaded ??= Promise.resolve();
    return this.elect(partition, epoch);
  }

  private elect(partition: number, epoch: number): Promise<void> {
    const current = this.owned.get(partition);
    if (current) {
      if (epoch > current.epoch) current.epoch = epoch;
      return current.loaded;
    }
    const resigned = this.resignedEpochs.get(partition);
    if (resigned !== undefined && epoch <= resigned) {
      this.logger?.info({ partition, epoch, resignedEpoch: resigned }, 'coordinator election ignored: stale epoch');
      return Promise.resolve();
    }
    const entry: OwnedPartition = { epoch, loading: true, loaded: Promise.resolve() };
    this.owned.set(partition, entry);
    entry.loaded = (async () => {
      // Loading takes its own turn: requests already queued see the partition as loading, as in Kafka.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (this.reloading) await this.reloading;
      if (this.owned.get(partition) !== entry) return; // resigned before it loaded
      try {
        this.replayPartition(partition);
        this.requireMachine().onLoaded?.(partition);
      } catch (err) {
        this.logger?.error({ err, partition }, 'coordinator partition load failed');
        this.unloadPartition(partition);
        this.owned.delete(partition);
        throw err;
      }
      entry.loading = false;
    })();
    return entry.loaded;
  }

  /**
   * This broker no longer leads `partition`: its state leaves the machine (`unload`, which cancels its timers
   * and answers requests waiting in it with NOT_COORDINATOR) and its keys answer NOT_COORDINATOR. With an
   * epoch, a resignation not newer than the epoch owned is stale (a no-op); without one it always applies.
   */
  onResignation(partition: number, epoch?: number): void {
    const current = this.owned.get(partition);
    if (epoch !== undefined) {
      if (current && current.epoch >= epoch) return;
      this.resignedEpochs.set(partition, Math.max(epoch, this.resignedEpochs.get(partition) ?? epoch));
    }
    if (!current) return;
    this.owned.delete(partition);
    // A partition still loading has replayed nothing yet (its replay is one synchronous step).
    if (!current.loading) this.unloadPartition(partition);
    this.logger?.info({ partition, epoch: epoch ?? current.epoch }, 'coordinator partition resigned');
  }

  /** Whether this runtime coordinates `partition` (loaded or loading). */
  isOwned(partition: number): boolean {
    return this.owned.has(partition);
  }

  /** Whether `partition` is owned but still loading. */
  isLoading(partition: number): boolean {
    return this.owned.get(partition)?.loading === true;
  }

  /** The partitions owned (loaded or loading), ascending. */
  ownedPartitions(): number[] {
    return [...this.owned.keys()].sort((a, b) => a - b);
  }

  /** The epoch `partition` is owned at; undefined if not owned. */
  epochOf(partition: number): number | undefined {
    return this.owned.get(partition)?.epoch;
  }

  /** Whether the key's partition is owned and loaded (read-only views filter with it). */
  serves(key: string): boolean {
    const entry = this.owned.get(this.partitionOf(key));
    return entry !== undefined && !entry.loading;
  }

  /** The error code checkOwned would throw for `key`, NONE when its partition is owned and loaded. */
  ownershipError(key: string): number {
    const entry = this.owned.get(this.partitionOf(key));
    if (!entry) return ErrorCode.NOT_COORDINATOR;
    return entry.loading ? ErrorCode.COORDINATOR_LOAD_IN_PROGRESS : ErrorCode.NONE;
  }

  /** NOT_COORDINATOR if the key's partition is not owned here, COORDINATOR_LOAD_IN_PROGRESS while it loads. */
  checkOwned(key: string): void {
    const partition = this.partitionOf(key);
    const entry = this.owned.get(partition);
    if (!entry) throw new KafkaError('NOT_COORDINATOR', `This broker is not the coordinator for ${key} (partition ${partition}).`);
    if (entry.loading) throw new KafkaError('COORDINATOR_LOAD_IN_PROGRESS', `The coordinator is loading partition ${partition}.`);
  }

  private replayPartition(partition: number): void {
    const machine = this.requireMachine();
    if (!this.log.exists()) return;
    let count = 0;
    this.log.readAll(partition, (raw, producerId) => {
      const rec = this.serde.decode(raw);
      if (rec !== null) {
        machine.replay(rec, producerId);
        count++;
      }
    }, (producerId, commit) => machine.replayTxnMarker?.(partition, producerId, commit));
    // At start-up (load) one line sums every partition; an election later logs its own.
    if (this.replayedRecords !== undefined) this.replayedRecords += count;
    else this.logger?.info({ partition, records: count }, 'coordinator partition loaded');
  }

  private unloadPartition(partition: number): void {
    const machine = this.requireMachine();
    if (!machine.unload) throw new Error('CoordinatorRuntime: the state machine cannot unload a partition');
    machine.unload(partition);
  }

  /**
   * After a failed append: the log is the truth. Waits for appends under way, then rebuilds the machine from
   * the partitions it owns.
   */
  private reload(): Promise<void> {
    const machine = this.requireMachine();
    if (!machine.reset) return Promise.resolve();
    this.reloading ??= (async () => {
      while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
      for (const key of [...this.timerKeys]) this.timers.cancel(key);
      machine.reset!();
      for (const [p, entry] of this.owned) {
        if (entry.loading) continue; // its own load replays it
        this.replayPartition(p);
        machine.onLoaded?.(p);
      }
      this.logger?.info('coordinator state reloaded from the log after a failed append');
    })().finally(() => {
      this.reloading = undefined;
    });
    return this.reloading;
  }

  /** Creates the internal topic on first use (as Kafka does on the first FindCoordinator). */
  ensureTopic(): Promise<void> {
    this.ensured ??= this.load().then(() => this.log.ensure()).then(async () => {
      // An internal topic created with more partitions than configured: a single node leads those too.
      const count = this.log.partitionCount();
      const fresh: Array<Promise<void>> = [];
      if (this.leadsAll === 0) return;
      for (let p = this.leadsAll; p < count; p++) fresh.push(this.elect(p, 0));
      this.leadsAll = Math.max(this.leadsAll, count);
      await Promise.all(fresh);
    }).catch((err) => {
      this.ensured = undefined;
      throw err;
    });
    return this.ensured;
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.log.partitionCount());
  }

  /**
   * Runs a state-changing operation: creates the topic if needed, persists its records, returns its response.
   * With a `key` (a group id, a transactional id) its partition must be owned and loaded here first.
   */
  async run<R>(op: () => CoordinatorResult<R, T>, key?: string): Promise<R> {
    if (key !== undefined && this.loaded) this.checkOwned(key);
    await this.ensureTopic();
    return this.execute(op, key);
  }

  /** Runs a read-only operation once the state is loaded; never creates the topic. `key`: as for run. */
  async query<R>(op: () => R, key?: string): Promise<R> {
    if (key !== undefined && this.loaded) this.checkOwned(key);
    await this.load();
    while (this.reloading) await this.reloading;
    if (key !== undefined) this.checkOwned(key);
    return op();
  }

  private async execute<R>(op: () => CoordinatorResult<R, T>, key?: string): Promise<R> {
    while (this.reloading) await this.reloading;
    const owner = key === undefined ? undefined : this.owned.get(this.partitionOf(key));
    if (key !== undefined) this.checkOwned(key);
    const result = op();
    if (result.records.length > 0) {
      const persisted = this.persist(result.records, result.producer);
      this.inflight.add(persisted);
      try {
        await persisted;
      } catch (err) {
        this.inflight.delete(persisted);
        if (err instanceof NotLeaderError) {
          // Leadership moved: the new leader loads the partition; here its state goes (no reload from a log
          // this broker no longer leads).
          for (const p of err.partitions) this.resignIfCurrent(p);
          throw new KafkaError('NOT_COORDINATOR', 'This broker no longer leads the coordinator partition', { cause: err.cause });
        }
        this.logger?.error({ err }, 'coordinator append failed');
        await this.reload().catch((reloadErr: unknown) => this.logger?.error({ err: reloadErr }, 'coordinator reload failed'));
        throw new KafkaError('COORDINATOR_NOT_AVAILABLE', 'The coordinator could not persist its state', { cause: err });
      } finally {
        this.inflight.delete(persisted);
      }
    }
    // Resigned while the records were appended: the requests waiting in that state were answered NOT_COORDINATOR.
    if (owner !== undefined && this.owned.get(this.partitionOf(key!)) !== owner) {
      throw new KafkaError('NOT_COORDINATOR', `This broker is no longer the coordinator for ${key}.`);
    }
    if (result.effects) for (const effect of result.effects) effect();
    return await result.response;
  }

  /** Resigns a partition after an append refused with NOT_LEADER_OR_FOLLOWER, unless already re-elected since. */
  private resignIfCurrent(partition: number): void {
    const entry = this.owned.get(partition);
    if (!entry) return;
    this.onResignation(partition);
    this.resignedEpochs.set(partition, Math.max(entry.epoch, this.resignedEpochs.get(partition) ?? entry.epoch));
  }

  private async persist(records: T[], producer: TxnProducer | undefined): Promise<void> {
    const byPartition = new Map<number, CoordinatorRecord[]>();
    for (const rec of records) {
      const p = this.partitionOf(this.serde.partitionKey(rec));
      let list = byPartition.get(p);
      if (!list) byPartition.set(p, (list = []));
      list.push(this.serde.encode(rec));
    }
    const notLeader: number[] = [];
    let cause: unknown;
    const settled = await Promise.allSettled([...byPartition].map(async ([p, list]) => {
      try {
        await this.log.append(p, list, producer);
      } catch (err) {
        if (err instanceof KafkaError && err.kafkaError === 'NOT_LEADER_OR_FOLLOWER') {
          notLeader.push(p);
          cause = err;
        }
        throw err;
      }
    }));
    if (notLeader.length > 0) throw new NotLeaderError(notLeader, cause);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  }

  private requireMachine(): StateMachine<T> {
    if (!this.machine) throw new Error('CoordinatorRuntime: no state machine bound');
    return this.machine;
  }
}

/** An append refused because this broker no longer leads these internal-topic partitions. */
class NotLeaderError extends Error {
  constructor(readonly partitions: number[], cause: unknown) {
    super(`not the leader of internal-topic partitions ${partitions.join(',')}`, { cause });
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
