/**
 * The controller: the one broker (elected through etcd) that moves partition leadership when brokers come and
 * go, runs preferred-leader and unclean elections (ElectLeaders, auto leader rebalance) and drives reassignments
 * (KIP-455). Its decisions are the pure rules of partition-changes.ts; this class reads the metadata image,
 * plans the changes, and writes them with compare-and-swap on each partition's epoch, fenced by its controller
 * epoch, so a deposed controller cannot write and a stale plan is refused and re-planned from a fresher image.
 *
 * Concurrency: one repair pass runs at a time (a new image while it runs marks it dirty; it then runs again on the
 * newest image). ElectLeaders and reassignment requests write concurrently with it; the compare-and-swap makes
 * the loser re-plan.
 */
import type { Logger } from '../logger.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import type { ReplicaElectionResult } from '../protocol/generated/elect-leaders-response.js';
import type { ReassignableTopicResponse } from '../protocol/generated/alter-partition-reassignments-response.js';
import type { OngoingTopicReassignment } from '../protocol/generated/list-partition-reassignments-response.js';
import { KafkaError } from '../errors.js';
import { NO_LEADER, type MetadataImage, type PartitionChange, type PartitionState, type TopicImage } from './metadata.js';
import {
  cancelReassignment,
  completeReassignmentIfReady,
  electOffline,
  isReassigning,
  onBrokerGone,
  preferredLeader,
  startReassignment,
} from './partition-changes.js';
import { validateManualReplicas } from './replica-assignment.js';

/** The part of the cluster store (EtcdClusterStore) the controller uses. */
export interface ControllerStore {
  image(): MetadataImage;
  /** Calls back after every image change; returns the unsubscribe function. */
  onImage(cb: (image: MetadataImage, previous: MetadataImage) => void): () => void;
  /** All-or-nothing compare-and-swap on each change's partitionEpoch, fenced by the controller epoch when given. */
  casPartitions(changes: PartitionChange[], controllerEpoch?: number): Promise<boolean>;
  /**
   * The incarnation (process life) of each broker that controllers have accounted for so far — fenced as
   * restarted, or found in place — kept in etcd for the next controller; empty if none is stored.
   */
  readBrokerIncarnations(): Promise<ReadonlyMap<number, string>>;
  /** Replaces them, fenced by the controller epoch; false if that epoch is no longer the controller's. */
  writeBrokerIncarnations(incarnations: ReadonlyMap<number, string>, controllerEpoch: number): Promise<boolean>;
}

export interface ControllerConfig {
  /** unclean.leader.election.enable (a topic's own value overrides it). */
  readonly uncleanLeaderElection: boolean;
  /** auto.leader.rebalance.enable */
  readonly autoLeaderRebalance: boolean;
  /** leader.imbalance.check.interval.seconds, in ms */
  readonly leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage */
  readonly leaderImbalancePerBrokerPercentage: number;
}

/** Kafka's defaults. */
export const DEFAULT_CONTROLLER_CONFIG: ControllerConfig = {
  uncleanLeaderElection: false,
  autoLeaderRebalance: true,
  leaderImbalanceCheckIntervalMs: 300_000,
  leaderImbalancePerBrokerPercentage: 10,
};

export interface ControllerOptions {
  readonly store: ControllerStore;
  readonly nodeId: number;
  /** This controller's epoch (from the election): every write is fenced by it. */
  readonly epoch: number;
  readonly config: ControllerConfig;
  readonly logger: Logger;
  readonly now?: () => number;
}

export type ElectionType = 'PREFERRED' | 'UNCLEAN';

export interface TopicPartitionRef {
  readonly topic: string;
  readonly partition: number;
}

export interface ReassignmentRequestTopic {
  readonly name: string;
  readonly partitions: ReadonlyArray<{ readonly partitionIndex: number; readonly replicas: readonly number[] | null }>;
}

/** At most this many partition changes per transaction (etcd's default --max-txn-ops is 128: compare + put each). */
export const CAS_BATCH_SIZE = 50;
/** Attempts of a request's compare-and-swap (re-planned on a fresher image after each conflict). */
const REQUEST_ATTEMPTS = 8;
const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2_000;
/** How long a request waits for the image to move after a conflict before re-planning anyway. */
const IMAGE_WAIT_MS = 500;

/** Brokers that may lead or join an ISR: registered and not shutting down. */
export function liveBrokers(image: MetadataImage): Set<number> {
  const live = new Set<number>();
  for (const [id, b] of image.brokers) if (!b.shuttingDown) live.add(id);
  return live;
}

/** unclean.leader.election.enable for a topic: its own override, else the broker-level value. */
export function uncleanFor(topic: TopicImage, brokerDefault: boolean): boolean {
  const v = topic.config['unclean.leader.election.enable'];
  return v === undefined ? brokerDefault : v.trim().toLowerCase() === 'true';
}

/**
 * The state after a chain of rules, with the epochs bumped once as for a single change: the leader epoch grows if
 * any step changed the leader (a restarted leader that leads again starts a new epoch).
 */
function squash(from: PartitionState, to: PartitionState): PartitionState {
  return {
    ...to,
    partitionEpoch: from.partitionEpoch + 1,
    leaderEpoch: to.leaderEpoch > from.leaderEpoch || to.leader !== from.leader ? from.leaderEpoch + 1 : from.leaderEpoch,
  };
}

/**
 * What the controller must change for the brokers the image shows: ISR members and leaders that are not live
 * (gone or shutting down) are removed / replaced, offline partitions get a leader when one of their ISR (or, with
 * unclean election, any replica) is live, and reassignments whose target replicas are all in sync complete.
 * `restarted`: brokers seen re-registering (new broker epoch) since the last pass.
 */
export function planPartitionRepairs(image: MetadataImage, uncleanDefault: boolean, restarted: ReadonlySet<number> = new Set()): PartitionChange[] {
  const live = liveBrokers(image);
  const changes: PartitionChange[] = [];
  for (const topic of image.topics.values()) {
    const unclean = uncleanFor(topic, uncleanDefault);
    topic.partitions.forEach((state, partition) => {
      let cur = state;
      // Followers first, the leader last: when every ISR member is gone, the last leader is the one kept.
      // A restarted broker (a new registration the previous image did not show) lost what it had not flushed:
      // like Kafka's fencing of a re-registered broker, it leaves the ISRs and its leadership is re-elected.
      const gone = cur.isr.filter((id) => (!live.has(id) || restarted.has(id)) && id !== cur.leader);
      if (cur.leader !== NO_LEADER && (!live.has(cur.leader) || restarted.has(cur.leader))) gone.push(cur.leader);
      for (const id of gone) cur = onBrokerGone(cur, id, live, unclean) ?? cur;
      cur = electOffline(cur, live, unclean) ?? cur;
      cur = completeReassignmentIfReady(cur, live) ?? cur;
      if (cur !== state) changes.push({ topic: topic.name, partition, expectedPartitionEpoch: state.partitionEpoch, next: squash(state, cur) });
    });
  }
  return changes;
}

/**
 * Preferred-leader elections the auto rebalance makes: for every broker whose share of preferred partitions it
 * does not lead exceeds `percentage`, those of its partitions whose preferred replica is live and in the ISR.
 * Partitions being reassigned are left alone, as Kafka does.
 */
export function planLeaderRebalance(image: MetadataImage, percentage: number): PartitionChange[] {
  const live = liveBrokers(image);
  const byPreferred = new Map<number, { total: number; candidates: PartitionChange[]; notLed: number }>();
  for (const topic of image.topics.values()) {
    topic.partitions.forEach((state, partition) => {
      const preferred = state.replicas[0];
      if (preferred === undefined) return;
      const entry = byPreferred.get(preferred) ?? { total: 0, candidates: [], notLed: 0 };
      byPreferred.set(preferred, entry);
      entry.total++;
      if (state.leader === preferred) return;
      entry.notLed++;
      if (isReassigning(state)) return;
      const nextState = preferredLeader(state, live);
      if (nextState) entry.candidates.push({ topic: topic.name, partition, expectedPartitionEpoch: state.partitionEpoch, next: nextState });
    });
  }
  const changes: PartitionChange[] = [];
  for (const entry of byPreferred.values()) {
    if ((entry.notLed * 100) / entry.total > percentage) changes.push(...entry.candidates);
  }
  return changes;
}

interface Planned<R> {
  readonly changes: PartitionChange[];
  /** The outcome per key when `changes` are written (or nothing was needed). */
  readonly results: Map<string, R>;
}

const key = (topic: string, partition: number): string => `${partition}:${topic}`;

export class Controller {
  readonly nodeId: number;
  readonly epoch: number;
  private readonly store: ControllerStore;
  private readonly config: ControllerConfig;
  private readonly logger: Logger;
  private readonly now: () => number;
  private unsubscribe: (() => void) | null = null;
  private rebalanceTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = RETRY_MIN_MS;
  private stopped = false;
  private started = false;
  private dirty = false;
  private pass: Promise<void> | null = null;
  private imageWaiters = new Set<() => void>();
  /**
   * Broker epochs as of the last repair pass that wrote everything it planned: a broker with another epoch now (or
   * none then) registered anew since, and that pass's successor fences it.
   */
  private fencedEpochs: Map<number, number> | null = null;
  /**
   * The incarnation of every broker this controller and its predecessors accounted for (read from the store on
   * the first pass): a registered broker with another incarnation restarted while no controller saw it, and is
   * fenced. `storedIncarnations`: what the store holds as far as this controller knows.
   */
  private incarnations: Map<number, string> | null = null;
  private storedIncarnations = new Map<number, string>();

  constructor(opts: ControllerOptions) {
    this.store = opts.store;
    this.nodeId = opts.nodeId;
    this.epoch = opts.epoch;
    this.config = opts.config;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
  }

  get isActive(): boolean {
    return this.started && !this.stopped;
  }

  /** Starts watching the image: repairs what the current image needs now, then after every change. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.unsubscribe = this.store.onImage((image, previous) => this.onImage(image, previous));
    if (this.config.autoLeaderRebalance && this.config.leaderImbalanceCheckIntervalMs > 0) {
      this.rebalanceTimer = setInterval(() => void this.checkLeaderImbalance(), this.config.leaderImbalanceCheckIntervalMs);
      this.rebalanceTimer.unref();
    }
    this.logger.info({ nodeId: this.nodeId, epoch: this.epoch }, 'controller started');
    this.kick();
  }

  /** Stops all work; in-flight requests finish with NOT_CONTROLLER. Idempotent. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.rebalanceTimer) clearInterval(this.rebalanceTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.rebalanceTimer = this.retryTimer = null;
    for (const wake of this.imageWaiters) wake();
    this.imageWaiters.clear();
    this.logger.info({ nodeId: this.nodeId, epoch: this.epoch }, 'controller stopped');
  }

  /** Resolves once no repair pass is running or pending (tests, orderly shutdown). */
  async idle(): Promise<void> {
    while (this.pass) await this.pass;
  }

  private onImage(image: MetadataImage, previous: MetadataImage): void {
    for (const wake of this.imageWaiters) wake();
    this.imageWaiters.clear();
    if (this.stopped) return;
    if (this.deposed(image)) {
      this.logger.info({ controller: image.controller }, 'controller deposed');
      this.stop();
      return;
    }
    const gone: number[] = [];
    const back: number[] = [];
    for (const [id, b] of previous.brokers) {
      const now = image.brokers.get(id);
      if (!b.shuttingDown && (!now || now.shuttingDown)) gone.push(id);
    }
    for (const [id, b] of image.brokers) {
      const before = previous.brokers.get(id);
      if (!b.shuttingDown && (!before || before.shuttingDown || before.brokerEpoch !== b.brokerEpoch)) back.push(id);
    }
    if (gone.length > 0 || back.length > 0) this.logger.info({ gone, back }, 'brokers changed');
    this.kick();
  }

  private deposed(image: MetadataImage): boolean {
    const c = image.controller;
    return c !== null && (c.epoch > this.epoch || (c.epoch === this.epoch && c.nodeId !== this.nodeId));
  }

  private kick(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (this.retryTimer) {
      clearTimeout(this.retryTimer);
      this.retryTimer = null;
    }
    if (!this.pass) {
      this.pass = this.runPasses().finally(() => {
        this.pass = null;
      });
    }
  }

  private async runPasses(): Promise<void> {
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      if (this.incarnations === null) {
        try {
          const stored = await this.store.readBrokerIncarnations();
          this.incarnations = new Map(stored);
          this.storedIncarnations = new Map(stored);
        } catch (err) {
          this.logger.warn({ err }, 'cannot read the broker incarnations from etcd; retrying');
          if (!this.dirty) this.retryLater();
          continue;
        }
        if (this.stopped) return;
      }
      const image = this.store.image();
      if (this.deposed(image)) {
        this.stop();
        return;
      }
      const started = this.now();
      const epochs = new Map([...image.brokers].map(([id, b]) => [id, b.brokerEpoch]));
      // The first pass takes the registrations as it finds them, except for a broker in another life than the one
      // accounted for: it restarted while no controller ran (or before one could fence it).
      const seen = this.fencedEpochs ?? epochs;
      const restarted = new Set([...epochs].filter(([id, epoch]) => seen.get(id) !== epoch).map(([id]) => id));
      for (const [id, b] of image.brokers) {
        const known = this.incarnations.get(id);
        if (known !== undefined && known !== b.incarnationId) restarted.add(id);
      }
      const changes = planPartitionRepairs(image, this.config.uncleanLeaderElection, restarted);
      const failed = changes.length === 0 ? [] : await this.writeBatches(changes);
      if (this.stopped) return;
      if (failed.length === 0) {
        this.fencedEpochs = epochs;
        this.retryDelayMs = RETRY_MIN_MS;
        if (changes.length > 0) this.logger.info({ changes: changes.length, ms: this.now() - started }, 'partition leadership and ISR repaired');
        // Only now are these lives accounted for: a successor reading them will not fence them again.
        for (const [id, b] of image.brokers) this.incarnations.set(id, b.incarnationId);
        if (!(await this.storeIncarnations()) && !this.stopped && !this.dirty) this.retryLater();
      } else if (!this.dirty) {
        // A conflict means the image is behind etcd: its watch brings the change (and a new pass); this timer
        // only covers a watch that stays silent.
        this.retryLater();
      }
    }
  }

  private retryLater(): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(RETRY_MAX_MS, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => this.kick(), delay);
    this.retryTimer.unref();
  }

  /** Writes the accounted incarnations if the store holds others; false if that failed (retried later). */
  private async storeIncarnations(): Promise<boolean> {
    const next = new Map(this.incarnations);
    const same = next.size === this.storedIncarnations.size && [...next].every(([id, inc]) => this.storedIncarnations.get(id) === inc);
    if (same) return true;
    try {
      if (await this.store.writeBrokerIncarnations(next, this.epoch)) {
        this.storedIncarnations = next;
        return true;
      }
      if (this.deposed(this.store.image())) this.stop();
    } catch (err) {
      this.logger.warn({ err }, 'cannot write the broker incarnations to etcd; retrying');
    }
    return false;
  }

  /** Writes changes in transactions of CAS_BATCH_SIZE; returns the changes of the batches refused. */
  private async writeBatches(changes: PartitionChange[]): Promise<PartitionChange[]> {
    const failed: PartitionChange[] = [];
    for (let i = 0; i < changes.length && !this.stopped; i += CAS_BATCH_SIZE) {
      const batch = changes.slice(i, i + CAS_BATCH_SIZE);
      let ok = false;
      try {
        ok = await this.store.casPartitions(batch, this.epoch);
      } catch (err) {
        this.logger.warn({ err }, 'partition state write failed');
      }
      if (!ok) {
        failed.push(...batch);
        if (this.deposed(this.store.image())) {
          this.stop();
          break;
        }
      }
    }
    return failed;
  }

  /** Resolves on the next image change or after `ms`, whichever comes first. */
  private waitForImage(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const waiters = this.imageWaiters;
      function done(): void {
        clearTimeout(timer);
        waiters.delete(done);
        resolve();
      }
      waiters.add(done);
    });
  }

  /**
   * Plans against the image, writes, and re-plans the keys whose batch was refused on a fresher image, a bounded
   * number of times. Keys still unwritten at the end get `onGiveUp`.
   */
  private async planAndWrite<R>(keys: string[], plan: (image: MetadataImage, keys: ReadonlySet<string>) => Planned<R>, onGiveUp: (stopped: boolean) => R): Promise<Map<string, R>> {
    const results = new Map<string, R>();
    let pending = new Set(keys);
    for (let attempt = 0; attempt < REQUEST_ATTEMPTS && pending.size > 0 && !this.stopped; attempt++) {
      if (attempt > 0) await this.waitForImage(IMAGE_WAIT_MS);
      if (this.stopped) break;
      const planned = plan(this.store.image(), pending);
      const failed = new Set((await this.writeBatches(planned.changes)).map((c) => key(c.topic, c.partition)));
      for (const [k, r] of planned.results) if (!failed.has(k)) results.set(k, r);
      pending = new Set([...pending].filter((k) => !results.has(k)));
    }
    for (const k of pending) results.set(k, onGiveUp(this.stopped));
    return results;
  }

  /** Preferred-leader elections when a broker leads too small a share of its preferred partitions. */
  async checkLeaderImbalance(): Promise<number> {
    if (this.stopped) return 0;
    const changes = planLeaderRebalance(this.store.image(), this.config.leaderImbalancePerBrokerPercentage);
    if (changes.length === 0) return 0;
    const failed = await this.writeBatches(changes);
    const done = changes.length - failed.length;
    if (done > 0) this.logger.info({ partitions: done }, 'auto leader rebalance moved leadership to preferred replicas');
    return done;
  }

  /**
   * ElectLeaders: `partitions` null means every partition, and then the partitions that need no election are left
   * out of the answer, as Kafka does.
   */
  async electLeaders(partitions: readonly TopicPartitionRef[] | null, type: ElectionType): Promise<ReplicaElectionResult[]> {
    type R = { errorCode: number; errorMessage: string | null };
    const image = this.store.image();
    const requested: TopicPartitionRef[] = [];
    if (partitions === null) {
      for (const t of image.topics.values()) for (let p = 0; p < t.partitions.length; p++) requested.push({ topic: t.name, partition: p });
    } else {
      const seen = new Set<string>();
      for (const tp of partitions) {
        if (!seen.has(key(tp.topic, tp.partition))) requested.push(tp);
        seen.add(key(tp.topic, tp.partition));
      }
    }
    const byKey = new Map(requested.map((tp) => [key(tp.topic, tp.partition), tp]));
    const results = await this.planAndWrite<R>(
      [...byKey.keys()],
      (img, pending) => {
        const live = liveBrokers(img);
        const changes: PartitionChange[] = [];
        const out = new Map<string, R>();
        for (const k of pending) {
          const { topic, partition } = byKey.get(k)!;
          const t = img.topics.get(topic);
          const state = t?.partitions[partition];
          if (!t || !state) {
            const message = t ? `No such partition as ${topic}-${partition}` : `No such topic as ${topic}`;
            out.set(k, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: message });
            continue;
          }
          const unclean = type === 'UNCLEAN';
          const notNeeded = unclean ? state.leader !== NO_LEADER && live.has(state.leader) : state.leader === state.replicas[0];
          if (notNeeded) {
            out.set(k, { errorCode: ErrorCode.ELECTION_NOT_NEEDED, errorMessage: null });
            continue;
          }
          let nextState: PartitionState | null;
          if (unclean) {
            let cur = state;
            if (cur.leader !== NO_LEADER) cur = onBrokerGone(cur, cur.leader, live, true) ?? cur;
            cur = electOffline(cur, live, true) ?? cur;
            nextState = cur.leader !== NO_LEADER && cur !== state ? squash(state, cur) : null;
          } else {
            nextState = preferredLeader(state, live);
          }
          if (!nextState) {
            out.set(k, {
              errorCode: unclean ? ErrorCode.ELIGIBLE_LEADERS_NOT_AVAILABLE : ErrorCode.PREFERRED_LEADER_NOT_AVAILABLE,
              errorMessage: null,
            });
            continue;
          }
          changes.push({ topic, partition, expectedPartitionEpoch: state.partitionEpoch, next: nextState });
          out.set(k, { errorCode: ErrorCode.NONE, errorMessage: null });
        }
        return { changes, results: out };
      },
      (stopped) => notControllerOrTimeout(stopped),
    );
    const byTopic = new Map<string, ReplicaElectionResult>();
    for (const tp of requested) {
      const r = results.get(key(tp.topic, tp.partition))!;
      if (partitions === null && r.errorCode === ErrorCode.ELECTION_NOT_NEEDED) continue;
      let entry = byTopic.get(tp.topic);
      if (!entry) byTopic.set(tp.topic, (entry = { topic: tp.topic, partitionResult: [] }));
      entry.partitionResult.push({ partitionId: tp.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
    }
    return [...byTopic.values()];
  }

  /**
   * AlterPartitionReassignments: replicas start (or replace) a reassignment, null cancels one. A reassignment that
   * only removes replicas completes at once; others complete when their target replicas are all in the ISR (the
   * repair pass checks on every image change).
   */
  async alterReassignments(topics: readonly ReassignmentRequestTopic[]): Promise<ReassignableTopicResponse[]> {
    type R = { errorCode: number; errorMessage: string | null };
    const requests = new Map<string, { topic: string; partition: number; replicas: readonly number[] | null }>();
    for (const t of topics) for (const p of t.partitions) requests.set(key(t.name, p.partitionIndex), { topic: t.name, partition: p.partitionIndex, replicas: p.replicas });
    const results = await this.planAndWrite<R>(
      [...requests.keys()],
      (img, pending) => {
        const live = liveBrokers(img);
        const changes: PartitionChange[] = [];
        const out = new Map<string, R>();
        for (const k of pending) {
          const req = requests.get(k)!;
          const t = img.topics.get(req.topic);
          const state = t?.partitions[req.partition];
          if (!t || !state) {
            out.set(k, { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: t ? `Unable to find partition ${req.topic}:${req.partition}.` : `Unable to find topic ${req.topic}` });
            continue;
          }
          let cur: PartitionState | null;
          if (req.replicas === null) {
            cur = cancelReassignment(state, live);
            if (!cur) {
              out.set(k, { errorCode: ErrorCode.NO_REASSIGNMENT_IN_PROGRESS, errorMessage: null });
              continue;
            }
          } else {
            try {
              validateManualReplicas(req.replicas, img.brokers);
            } catch (err) {
              if (!(err instanceof KafkaError)) throw err;
              out.set(k, { errorCode: ErrorCode.INVALID_REPLICA_ASSIGNMENT, errorMessage: err.message });
              continue;
            }
            cur = startReassignment(state, req.replicas);
            if (cur) cur = completeReassignmentIfReady(cur, live) ?? cur;
          }
          if (cur) changes.push({ topic: req.topic, partition: req.partition, expectedPartitionEpoch: state.partitionEpoch, next: squash(state, cur) });
          out.set(k, { errorCode: ErrorCode.NONE, errorMessage: null });
        }
        return { changes, results: out };
      },
      (stopped) => notControllerOrTimeout(stopped),
    );
    const byTopic = new Map<string, ReassignableTopicResponse>();
    for (const req of requests.values()) {
      const r = results.get(key(req.topic, req.partition))!;
      let entry = byTopic.get(req.topic);
      if (!entry) byTopic.set(req.topic, (entry = { name: req.topic, partitions: [] }));
      entry.partitions.push({ partitionIndex: req.partition, errorCode: r.errorCode, errorMessage: r.errorMessage });
    }
    return [...byTopic.values()];
  }

  /** ListPartitionReassignments: the ongoing ones among `topics` (null: all); unknown topics and partitions are skipped, as in Kafka. */
  listReassignments(topics: ReadonlyArray<{ readonly name: string; readonly partitionIndexes: readonly number[] }> | null): OngoingTopicReassignment[] {
    const image = this.store.image();
    const wanted = topics === null ? [...image.topics.values()].map((t) => ({ name: t.name, partitionIndexes: t.partitions.map((_, i) => i) })) : topics;
    const out: OngoingTopicReassignment[] = [];
    for (const w of wanted) {
      const t = image.topics.get(w.name);
      if (!t) continue;
      const partitions = [...new Set(w.partitionIndexes)]
        .filter((p) => t.partitions[p] !== undefined && isReassigning(t.partitions[p]!))
        .map((p) => {
          const s = t.partitions[p]!;
          return { partitionIndex: p, replicas: [...s.replicas], addingReplicas: [...s.addingReplicas], removingReplicas: [...s.removingReplicas] };
        });
      if (partitions.length > 0) out.push({ name: t.name, partitions });
    }
    return out;
  }
}

function notControllerOrTimeout(stopped: boolean): { errorCode: number; errorMessage: string | null } {
  return stopped
    ? { errorCode: ErrorCode.NOT_CONTROLLER, errorMessage: 'This broker is no longer the controller.' }
    : { errorCode: ErrorCode.REQUEST_TIMED_OUT, errorMessage: 'The partition state changed concurrently too many times; retry.' };
}
