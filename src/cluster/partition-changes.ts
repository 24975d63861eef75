/**
 * The rules that change one partition's state (docs/CLUSTER.md, "Partition state changes"), as pure functions.
 * Each returns the next PartitionState, or null when the rule does not apply; a next state always has
 * partitionEpoch + 1 (the compare-and-swap version) and leaderEpoch + 1 when its leader differs.
 * Invariants kept: the ISR is never empty and is a subset of the replicas; the leader is -1 or an ISR member.
 */
import { NO_LEADER, type PartitionState } from './metadata.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** The state after `change`, with the epochs bumped as the rules require. */
function next(state: PartitionState, change: Partial<Mutable<PartitionState>>): PartitionState {
  const leader = change.leader ?? state.leader;
  return {
    ...state,
    ...change,
    leader,
    leaderEpoch: leader !== state.leader ? state.leaderEpoch + 1 : state.leaderEpoch,
    partitionEpoch: state.partitionEpoch + 1,
  };
}

/** The first replica, in `replicas` order, that is in `isr` (when given) and live, other than `except`. */
function firstEligible(replicas: readonly number[], live: ReadonlySet<number>, isr: readonly number[] | null, except = NO_LEADER): number {
  for (const id of replicas) {
    if (id !== except && live.has(id) && (isr === null || isr.includes(id))) return id;
  }
  return NO_LEADER;
}

/**
 * A broker's lease expired, or it is shutting down (controlled shutdown): it leaves the ISR unless it is the last
 * member; a partition it led gets the first live ISR member (in replicas order) as leader; with none, an unclean
 * election takes the first live replica (ISR = [it]), else the partition goes offline (leader -1, the ISR keeps
 * its last member so that broker is the one that may lead again).
 */
export function onBrokerGone(state: PartitionState, brokerId: number, live: ReadonlySet<number>, unclean: boolean): PartitionState | null {
  const inIsr = state.isr.includes(brokerId);
  const led = state.leader === brokerId;
  if (!inIsr && !led) return null;
  let isr = state.isr.filter((id) => id !== brokerId);
  if (isr.length === 0) isr = [...state.isr];
  if (!led) return isr.length === state.isr.length ? null : next(state, { isr });
  const clean = firstEligible(state.replicas, live, isr, brokerId);
  if (clean !== NO_LEADER) return next(state, { leader: clean, isr });
  if (unclean) {
    const any = firstEligible(state.replicas, live, null, brokerId);
    if (any !== NO_LEADER) return next(state, { leader: any, isr: [any] });
  }
  return next(state, { leader: NO_LEADER, isr });
}

/**
 * A broker (re)registered: an offline partition (leader -1) whose ISR names it gets it as leader; with unclean
 * election, a replica outside the ISR leads (ISR = [it]) when no ISR member is live.
 */
export function onBrokerBack(state: PartitionState, brokerId: number, live: ReadonlySet<number>, unclean: boolean): PartitionState | null {
  if (state.leader !== NO_LEADER || !live.has(brokerId) || !state.replicas.includes(brokerId)) return null;
  if (state.isr.includes(brokerId)) return next(state, { leader: brokerId });
  if (unclean && !state.isr.some((id) => live.has(id))) return next(state, { leader: brokerId, isr: [brokerId] });
  return null;
}

/** Preferred-leader election: replicas[0] leads when it is live, in the ISR and not already the leader. */
export function preferredLeader(state: PartitionState, live: ReadonlySet<number>): PartitionState | null {
  const preferred = state.replicas[0];
  if (preferred === undefined || preferred === state.leader || !live.has(preferred) || !state.isr.includes(preferred)) return null;
  return next(state, { leader: preferred });
}

/**
 * An offline partition (leader -1) gets a leader: the first live ISR member in replicas order, else (unclean) the
 * first live replica with ISR = [it]. The controller's catch-all for offline partitions.
 */
export function electOffline(state: PartitionState, live: ReadonlySet<number>, unclean: boolean): PartitionState | null {
  if (state.leader !== NO_LEADER) return null;
  const clean = firstEligible(state.replicas, live, state.isr);
  if (clean !== NO_LEADER) return next(state, { leader: clean });
  if (!unclean) return null;
  const any = firstEligible(state.replicas, live, null);
  return any === NO_LEADER ? null : next(state, { leader: any, isr: [any] });
}

export function isReassigning(state: PartitionState): boolean {
  return state.addingReplicas.length > 0 || state.removingReplicas.length > 0;
}

/** The target of an ongoing reassignment (replicas without the removing ones), or the replicas when none. */
export function reassignmentTarget(state: PartitionState): number[] {
  return state.replicas.filter((id) => !state.removingReplicas.includes(id));
}

/** The replicas before an ongoing reassignment (without the adding ones). */
export function reassignmentOriginal(state: PartitionState): number[] {
  return state.replicas.filter((id) => !state.addingReplicas.includes(id));
}

/**
 * KIP-455: start moving the partition to `target` (validated by the caller). The replicas become target followed
 * by the current replicas not in it; adding = target − current, removing = current − target. A reassignment in
 * progress is replaced, its current replicas (adding ones included) being the starting point, as KRaft does.
 * null when the target is the current replica list and nothing is in progress.
 */
export function startReassignment(state: PartitionState, target: readonly number[]): PartitionState | null {
  const current = state.replicas;
  const adding = target.filter((id) => !current.includes(id));
  const removing = current.filter((id) => !target.includes(id));
  if (adding.length === 0 && removing.length === 0) {
    // Same set: just the new order (a reorder needs no data movement).
    const same = target.every((id, i) => current[i] === id);
    if (same && !isReassigning(state)) return null;
    return next(state, { replicas: [...target], addingReplicas: [], removingReplicas: [] });
  }
  return next(state, { replicas: [...target, ...removing], addingReplicas: adding, removingReplicas: removing });
}

/**
 * Completes a reassignment once every target replica is in the ISR (Kafka's condition: the adding ones have
 * caught up and no target replica is out of sync): replicas = target, ISR = ISR ∩ target, adding/removing cleared;
 * a leader being removed hands over to the first live target replica in the ISR (leader -1 if none is live).
 */
export function completeReassignmentIfReady(state: PartitionState, live: ReadonlySet<number>): PartitionState | null {
  if (!isReassigning(state)) return null;
  const target = reassignmentTarget(state);
  if (!target.every((id) => state.isr.includes(id))) return null;
  const isr = state.isr.filter((id) => target.includes(id));
  let leader = state.leader;
  if (!target.includes(leader)) leader = firstEligible(target, live, isr);
  return next(state, { replicas: target, isr, leader, addingReplicas: [], removingReplicas: [] });
}

/**
 * Cancels an ongoing reassignment (AlterPartitionReassignments with null replicas): back to the original replicas,
 * the adding ones leave the ISR; a leader among them hands over to the first live original replica in the ISR.
 * If only adding replicas were in sync, the original replicas that are live form the ISR (an unclean revert; Kafka
 * reverts the same way rather than leave no ISR). null when nothing is in progress.
 */
export function cancelReassignment(state: PartitionState, live: ReadonlySet<number>): PartitionState | null {
  if (!isReassigning(state)) return null;
  const original = reassignmentOriginal(state);
  let isr = state.isr.filter((id) => original.includes(id));
  if (isr.length === 0) {
    isr = original.filter((id) => live.has(id));
    if (isr.length === 0) isr = original.slice(0, 1);
  }
  let leader = state.leader;
  if (!original.includes(leader)) leader = firstEligible(original, live, isr);
  return next(state, { replicas: original, isr, leader, addingReplicas: [], removingReplicas: [] });
}

export type IsrChangeError = 'FENCED_LEADER_EPOCH' | 'NOT_CONTROLLER' | 'NOT_LEADER_OR_FOLLOWER' | 'INVALID_REQUEST' | 'INELIGIBLE_REPLICA';

/**
 * The partition leader's ISR change (Kafka's AlterPartition, validated as its controller does):
 * - leaderEpoch below the partition's: FENCED_LEADER_EPOCH (the caller was deposed);
 * - above it: NOT_CONTROLLER (this image is behind the caller; retry once it catches up), as Kafka answers;
 * - the caller is not the leader: NOT_LEADER_OR_FOLLOWER;
 * - the new ISR empty, with a duplicate, naming a non-replica, or without the leader: INVALID_REQUEST;
 * - a member added to the ISR that is not live (not registered or shutting down): INELIGIBLE_REPLICA.
 * Returns `state` itself when the ISR is unchanged (nothing to write), else the next state.
 */
export function isrChange(
  state: PartitionState,
  newIsr: readonly number[],
  leaderId: number,
  leaderEpoch: number,
  live: ReadonlySet<number>,
): PartitionState | IsrChangeError {
  if (leaderEpoch < state.leaderEpoch) return 'FENCED_LEADER_EPOCH';
  if (leaderEpoch > state.leaderEpoch) return 'NOT_CONTROLLER';
  if (leaderId !== state.leader || leaderId === NO_LEADER) return 'NOT_LEADER_OR_FOLLOWER';
  if (newIsr.length === 0 || new Set(newIsr).size !== newIsr.length) return 'INVALID_REQUEST';
  if (!newIsr.every((id) => state.replicas.includes(id))) return 'INVALID_REQUEST';
  if (!newIsr.includes(leaderId)) return 'INVALID_REQUEST';
  if (newIsr.some((id) => !state.isr.includes(id) && !live.has(id))) return 'INELIGIBLE_REPLICA';
  const unchanged = newIsr.length === state.isr.length && newIsr.every((id) => state.isr.includes(id));
  if (unchanged) return state;
  return next(state, { isr: [...newIsr] });
}
