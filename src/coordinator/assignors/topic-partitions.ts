/** Helpers over topic id → ascending partition lists (assignments, owned partitions). */
import type { TopicPartitionMap } from './partition-assignor.js';

export type ReadonlyTopicPartitionMap = ReadonlyMap<string, readonly number[]>;

export const EMPTY_ASSIGNMENT: ReadonlyTopicPartitionMap = new Map();

/** Builds a map from wire-style entries, dropping empty topics and sorting partitions. */
export function fromEntries(entries: Iterable<{ topicId: string; partitions: readonly number[] }>): TopicPartitionMap {
  const m: TopicPartitionMap = new Map();
  for (const e of entries) {
    if (e.partitions.length === 0) continue;
    const list = m.get(e.topicId) ?? [];
    for (const p of e.partitions) if (!list.includes(p)) list.push(p);
    list.sort((a, b) => a - b);
    m.set(e.topicId, list);
  }
  return m;
}

/** Wire-style entries, topics in id order (deterministic records). */
export function toEntries(m: ReadonlyTopicPartitionMap): Array<{ topicId: string; partitions: number[] }> {
  return [...m.keys()].sort().map((topicId) => ({ topicId, partitions: [...m.get(topicId)!] }));
}

export function equalAssignments(a: ReadonlyTopicPartitionMap, b: ReadonlyTopicPartitionMap): boolean {
  if (a.size !== b.size) return false;
  for (const [t, pa] of a) {
    const pb = b.get(t);
    if (!pb || pb.length !== pa.length) return false;
    for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) return false;
  }
  return true;
}

export function intersects(a: ReadonlyTopicPartitionMap, b: ReadonlyTopicPartitionMap): boolean {
  for (const [t, ps] of a) {
    const s = b.get(t);
    if (s) for (const p of ps) if (s.includes(p)) return true;
  }
  return false;
}
