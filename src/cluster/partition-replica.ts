/** One partition replica on this broker, as the ReplicaManager leads or follows it (see replica-manager.ts). */
import type { PartitionState } from './metadata.js';

export interface FollowerState {
  /** The follower's log end offset as its last fetch said; -1 until it fetches from this leader. */
  leo: number;
  lastFetchMs: number;
  lastCaughtUpMs: number;
  leaderLeoAtLastFetch: number;
}

export interface Waiter {
  endOffset: number;
  minIsr: number;
  resolve(code: number): void;
  timer: NodeJS.Timeout;
}

export type Role = 'leader' | 'follower' | 'none';

export class PartitionReplica {
  role: Role = 'none';
  state: PartitionState;
  /** The leader epoch this broker leads or follows at. */
  leaderEpoch = -1;
  /** Offset of the first append in this leader's epoch (its log end when it became leader). */
  epochStartOffset = 0;
  readonly followers = new Map<number, FollowerState>();
  /** An ISR change written to etcd, not yet confirmed. */
  pendingIsr: readonly number[] | null = null;
  readonly waiters: Waiter[] = [];
  /** While leading: unsubscribes the listener that moves the high watermark on every append. */
  stopWatchingAppends: (() => void) | null = null;

  constructor(readonly topic: string, readonly topicId: string, readonly partition: number, state: PartitionState) {
    this.state = state;
  }

  get key(): string {
    return `${this.topic}-${this.partition}`;
  }

  /** The ISR for committing: the pending one while an expansion is in flight (it is the larger). */
  get maximalIsr(): readonly number[] {
    return this.pendingIsr && this.pendingIsr.length > this.state.isr.length ? this.pendingIsr : this.state.isr;
  }
}

