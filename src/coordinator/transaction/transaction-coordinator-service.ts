/**
 * Wires the transaction coordinator for a broker: the pure TransactionCoordinator, its CoordinatorRuntime over
 * `__transaction_state` (compacted, transaction.state.log.num.partitions), the marker writer, and the
 * periodic jobs (abort timed-out transactions, expire idle transactional ids), with Kafka's config keys.
 *
 * Markers: for every partition of a transaction, `CoordinatorPartitions.writeTxnMarker` appends the COMMIT/ABORT
 * control batch and each append is awaited until durable; markers on `__consumer_offsets` partitions also complete the
 * group coordinator's pending transactional offsets (TxnOffsetCommit; the marker is their durable outcome,
 * which the group coordinator also finds when it replays that partition). Only then does the coordinator move
 * to Complete* (`markersWritten`) and the client get its answer (EndTxn, or the InitProducerId that fenced an
 * ongoing transaction). A failed marker write is retried every MARKER_RETRY_MS; meanwhile the id answers
 * CONCURRENT_TRANSACTIONS. On load (and on each election of a partition), transactions caught in Prepare* get
 * their markers again.
 *
 * Concurrency: single JS thread; coordinator operations are synchronous and run one at a time inside the
 * runtime, marker writes are awaited after them. A failed `__transaction_state` append answers
 * COORDINATOR_NOT_AVAILABLE and leaves the in-memory state ahead of the log until the next start.
 */
import type { Logger } from '../../logger.js';
import type { CoordinatorPartitions } from '../coordinator-partitions.js';
import type { GroupCoordinatorService } from '../group/group-coordinator-service.js';
import { CoordinatorRuntime } from '../runtime.js';
import type { Scheduler } from '../scheduler.js';
import { TopicCoordinatorLog } from '../topic-log.js';
import {
  CONSUMER_OFFSETS_TOPIC, TransactionCoordinator, type TransactionCoordinatorConfig, type TxnBackgroundResult,
  type TxnMarkers, type TxnResult,
} from './transaction-coordinator.js';
import type { TxnRecord } from './transaction-metadata.js';
import { txnRecordSerde } from './transaction-records.js';

export const TRANSACTION_STATE_TOPIC = '__transaction_state';
const MARKER_RETRY_MS = 1000;
const ABORT_JOB = 'txn-abort-timed-out';
const EXPIRE_JOB = 'txn-expire-ids';

export interface TransactionServiceConfig extends TransactionCoordinatorConfig {
  abortTimedOutIntervalMs: number;
  removeExpiredIntervalMs: number;
  numPartitions: number;
  /** transaction.state.log.segment.bytes: segments roll so the cleaner can compact them (absent: 100 MiB). */
  segmentBytes?: number;
}

export function transactionServiceConfig(config: ReadonlyMap<string, string>): TransactionServiceConfig {
  const num = (key: string): number => Number(config.get(key));
  return {
    transactionMaxTimeoutMs: num('transaction.max.timeout.ms'),
    transactionalIdExpirationMs: num('transactional.id.expiration.ms'),
    abortTimedOutIntervalMs: num('transaction.abort.timed.out.transaction.cleanup.interval.ms'),
    removeExpiredIntervalMs: num('transaction.remove.expired.transaction.cleanup.interval.ms'),
    numPartitions: num('transaction.state.log.num.partitions'),
    segmentBytes: num('transaction.state.log.segment.bytes'),
  };
}

export class TransactionCoordinatorService {
  readonly runtime: CoordinatorRuntime<TxnRecord>;
  readonly coordinator: TransactionCoordinator;
  private closed = false;
  private readonly inflight = new Set<Promise<void>>();

  constructor(
    private readonly partitions: CoordinatorPartitions,
    private readonly groups: Pick<GroupCoordinatorService, 'runtime' | 'coordinator'>,
    private readonly config: TransactionServiceConfig,
    producerIds: { generate(): bigint },
    private readonly scheduler: Scheduler,
    private readonly logger?: Pick<Logger, 'error' | 'info' | 'warn'>,
  ) {
    const log = new TopicCoordinatorLog(partitions, TRANSACTION_STATE_TOPIC, config.numPartitions, {
      'cleanup.policy': 'compact',
      'segment.bytes': String(config.segmentBytes || 104857600),
    }, scheduler.now);
    this.runtime = new CoordinatorRuntime(log, txnRecordSerde, scheduler, logger);
    this.coordinator = new TransactionCoordinator({
      now: scheduler.now,
      allocateProducerId: () => producerIds.generate(),
      partitionForGroup: (groupId) => groups.runtime.partitionOf(groupId),
      partitionExists: (topic, p) => {
        const t = partitions.topic(topic);
        return t !== undefined && Number.isInteger(p) && p >= 0 && p < t.partitions;
      },
      // Markers carry the epoch this broker was elected at for the id's partition: a newer coordinator's fence ours.
      coordinatorEpoch: (transactionalId) => this.runtime.epochOf(this.runtime.partitionOf(transactionalId)) ?? 0,
      config,
    });
    // After a failed append the runtime empties the machine and replays the log, so memory never runs ahead of it.
    this.runtime.bind({
      replay: (rec) => this.coordinator.replayRecord(rec),
      reset: () => this.coordinator.reset(),
      unload: (partition) => {
        const owned = (id: string): boolean => this.runtime.partitionOf(id) === partition;
        for (const id of this.coordinator.transactionalIds()) if (owned(id)) this.scheduler.cancel(`markers:${id}`);
        this.coordinator.unload(owned);
      },
    });
  }

  /** Single node: elects every `__transaction_state` partition (see onElection), then starts the jobs. */
  async load(): Promise<void> {
    await this.runtime.load();
    await Promise.all(this.coordinator.pendingMarkers().map((m) => this.complete(m)));
    this.startJobs();
  }

  /**
   * This broker now leads `__transaction_state` partition `partition` at leader epoch `epoch` (Kafka's
   * TransactionCoordinator.onElection): its transactional ids load, then the transactions caught in Prepare*
   * get their markers again (idempotent), carrying `epoch` as their coordinator epoch.
   */
  async onElection(partition: number, epoch: number): Promise<void> {
    this.startJobs();
    await this.runtime.onElection(partition, epoch);
    if (this.runtime.epochOf(partition) !== epoch || this.runtime.isLoading(partition)) return;
    await Promise.all(this.coordinator.pendingMarkers((id) => this.runtime.partitionOf(id) === partition).map((m) => this.complete(m)));
  }

  /**
   * This broker no longer leads `__transaction_state` partition `partition`: its ids are unloaded (their marker
   * retries stop) and answer NOT_COORDINATOR. A resignation not newer than the epoch elected is ignored.
   */
  onResignation(partition: number, epoch?: number): void {
    this.runtime.onResignation(partition, epoch);
  }

  /** NONE if `transactionalId` is coordinated (and loaded) here, else NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. */
  ownershipError(transactionalId: string): number {
    return this.runtime.ownershipError(transactionalId);
  }

  private jobsStarted = false;

  private startJobs(): void {
    if (this.jobsStarted) return;
    this.jobsStarted = true;
    this.every(ABORT_JOB, this.config.abortTimedOutIntervalMs, () => this.abortTimedOutTransactions());
    this.every(EXPIRE_JOB, this.config.removeExpiredIntervalMs, () => this.expireTransactionalIds());
  }

  /**
   * Runs a coordinator operation: persists its records, writes its markers, then returns its response. With a
   * transactional id, its partition must be owned and loaded here (NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS).
   */
  async run<R>(op: () => TxnResult<R>, transactionalId?: string): Promise<R> {
    let markers = undefined as TxnMarkers | undefined;
    const response = await this.runtime.run(() => {
      const r = op();
      markers = r.markers;
      return { response: r.response, records: r.records };
    }, transactionalId);
    if (markers) await this.complete(markers);
    return response;
  }

  /** Aborts (and fences) transactions past their timeout; the periodic job, callable by tests. */
  abortTimedOutTransactions(): Promise<void> {
    return this.background(() => this.coordinator.abortTimedOutTransactions());
  }

  /** Removes transactional ids idle for transactional.id.expiration.ms; the periodic job, callable by tests. */
  expireTransactionalIds(): Promise<void> {
    return this.background(() => this.coordinator.expireTransactionalIds());
  }

  /** Stops the jobs and marker retries, and waits for the ones running. */
  async close(): Promise<void> {
    this.closed = true;
    this.scheduler.cancelAll();
    await Promise.all(this.inflight);
  }

  private every(key: string, intervalMs: number, job: () => Promise<void>): void {
    if (this.closed) return;
    this.scheduler.schedule(key, intervalMs, () => {
      void job().finally(() => this.every(key, intervalMs, job));
    });
  }

  private async background(job: () => TxnBackgroundResult): Promise<void> {
    if (this.closed || this.coordinator.transactionalIds().length === 0) return;
    const done = (async () => {
      let markers: TxnMarkers[] = [];
      try {
        await this.runtime.run(() => {
          const r = job();
          markers = r.markers;
          return { response: undefined, records: r.records };
        });
        await Promise.all(markers.map((m) => this.complete(m)));
      } catch (err) {
        this.logger?.error({ err }, 'transaction coordinator background job failed');
      }
    })();
    this.inflight.add(done);
    await done.finally(() => this.inflight.delete(done));
  }

  /**
   * Writes the markers and completes the transaction; on failure, retries later (the answer does not wait).
   * Once the id's partition is resigned it stops: the new coordinator completes the transaction.
   */
  private async complete(markers: TxnMarkers): Promise<void> {
    const partition = this.runtime.partitionOf(markers.transactionalId);
    const epoch = this.runtime.epochOf(partition);
    const current = (): boolean => epoch !== undefined && this.runtime.epochOf(partition) === epoch;
    try {
      await this.writeMarkers(markers);
      await this.runtime.run(() => ({ response: undefined, records: this.coordinator.markersWritten(markers).records }), markers.transactionalId);
    } catch (err) {
      if (this.closed || !current()) return;
      this.logger?.warn({ err, transactionalId: markers.transactionalId }, 'writing transaction markers failed; retrying');
      this.scheduler.schedule(`markers:${markers.transactionalId}`, MARKER_RETRY_MS, () => {
        if (this.closed || !current()) return;
        const retry = this.complete(markers);
        this.inflight.add(retry);
        void retry.finally(() => this.inflight.delete(retry));
      });
    }
  }

  private async writeMarkers(m: TxnMarkers): Promise<void> {
    const timestamp = this.scheduler.now();
    const flushes: Array<Promise<void>> = [];
    const offsetPartitions = new Set<number>();
    for (const t of m.topics) {
      for (const p of t.partitionIndexes) {
        if (t.name === CONSUMER_OFFSETS_TOPIC) offsetPartitions.add(p);
        const written = this.partitions.writeTxnMarker(t.name, p, {
          producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch: m.coordinatorEpoch, commit: m.transactionResult, timestamp,
        });
        if (written) flushes.push(written); // else the partition is gone: nothing to mark (Kafka drops it too)
      }
    }
    await Promise.all(flushes);
    if (offsetPartitions.size > 0) {
      const { runtime, coordinator } = this.groups;
      await runtime.run(() => coordinator.completeTxnOffsets(m.producerId, m.transactionResult, (g) => offsetPartitions.has(runtime.partitionOf(g))));
    }
  }
}
