/**
 * The history of a fault test: every produce the cluster ACKNOWLEDGED (value, topic-partition, offset) and every
 * record READ BACK afterwards (offset, value), then `check()` says what an acknowledged write suffered.
 *
 * Values must be unique per produce (acked-load.ts numbers them), so a value names one write. A write the
 * producer never saw acknowledged may or may not be in the log (the request may have landed before the fault):
 * only acknowledged writes are promised, so only they can be lost.
 */

export interface HistoryEntry {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly value: string;
}

export interface HistoryReport {
  /** How many acknowledged produces and records read back were recorded. */
  readonly acknowledged: number;
  readonly read: number;
  /** Acknowledged values never read back (at any offset). */
  readonly lost: HistoryEntry[];
  /** Values read back at more than one position (a retried produce appended twice). */
  readonly duplicates: Array<{ value: string; positions: Array<Omit<HistoryEntry, 'value'>> }>;
  /** Per partition, a record read at an offset not above the one read before it. */
  readonly reordered: Array<{ topic: string; partition: number; previousOffset: number; offset: number }>;
  /** An offset acknowledged for one value but read back holding another (an acknowledged write overwritten). */
  readonly mismatched: Array<{ topic: string; partition: number; offset: number; acknowledged: string; read: string }>;
  /** One offset acknowledged for two different values: the cluster promised the same slot twice. */
  readonly conflictingAcks: Array<{ topic: string; partition: number; offset: number; values: [string, string] }>;
  /** True when every list above is empty. */
  readonly ok: boolean;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const posKey = (topic: string, partition: number, offset: number): string => `${topic}\u0000${partition}\u0000${offset}`;

export class HistoryChecker {
  private readonly acks: HistoryEntry[] = [];
  private readonly reads: HistoryEntry[] = [];

  /** A produce acknowledged at this offset (-1 when the acknowledgement carried none). */
  acknowledged(topic: string, partition: number, offset: number, value: string): void {
    this.acks.push({ topic, partition, offset, value });
  }

  /** A record read back, in the order the reader saw it. */
  read(topic: string, partition: number, offset: number, value: string): void {
    this.reads.push({ topic, partition, offset, value });
  }

  get acknowledgedCount(): number {
    return this.acks.length;
  }

  get readCount(): number {
    return this.reads.length;
  }

  check(): HistoryReport {
    const readValues = new Set<string>();
    const readAt = new Map<string, string>();
    const positionsOf = new Map<string, Map<string, Omit<HistoryEntry, 'value'>>>();
    const lastOffset = new Map<string, number>();
    const reordered: HistoryReport['reordered'] = [];
    for (const r of this.reads) {
      readValues.add(r.value);
      const pos = posKey(r.topic, r.partition, r.offset);
      if (!readAt.has(pos)) readAt.set(pos, r.value);
      let positions = positionsOf.get(r.value);
      if (!positions) positionsOf.set(r.value, (positions = new Map()));
      positions.set(pos, { topic: r.topic, partition: r.partition, offset: r.offset });
      const tp = tpKey(r.topic, r.partition);
      const previous = lastOffset.get(tp);
      if (previous !== undefined && r.offset <= previous) reordered.push({ topic: r.topic, partition: r.partition, previousOffset: previous, offset: r.offset });
      lastOffset.set(tp, r.offset);
    }

    const lost: HistoryEntry[] = [];
    const mismatched: HistoryReport['mismatched'] = [];
    const conflictingAcks: HistoryReport['conflictingAcks'] = [];
    const ackedAt = new Map<string, string>();
    for (const a of this.acks) {
      if (!readValues.has(a.value)) lost.push(a);
      // Offset -1: acknowledged without an offset (a retry the broker recognised as a duplicate answers
      // DUPLICATE_SEQUENCE_NUMBER): it must be read back somewhere, but there is no position to check.
      if (a.offset < 0) continue;
      const pos = posKey(a.topic, a.partition, a.offset);
      const earlier = ackedAt.get(pos);
      if (earlier !== undefined && earlier !== a.value) conflictingAcks.push({ topic: a.topic, partition: a.partition, offset: a.offset, values: [earlier, a.value] });
      else ackedAt.set(pos, a.value);
      const got = readAt.get(pos);
      if (got !== undefined && got !== a.value) mismatched.push({ topic: a.topic, partition: a.partition, offset: a.offset, acknowledged: a.value, read: got });
    }

    const duplicates: HistoryReport['duplicates'] = [];
    for (const [value, positions] of positionsOf) if (positions.size > 1) duplicates.push({ value, positions: [...positions.values()] });

    return {
      acknowledged: this.acks.length,
      read: this.reads.length,
      lost,
      duplicates,
      reordered,
      mismatched,
      conflictingAcks,
      ok: lost.length === 0 && duplicates.length === 0 && reordered.length === 0 && mismatched.length === 0 && conflictingAcks.length === 0,
    };
  }
}

/** A short account of a report for an assertion message: the counts and the first few defects of each kind. */
export function describeReport(report: HistoryReport, limit = 5): string {
  const lines = [`acknowledged ${report.acknowledged}, read ${report.read}: ${report.lost.length} lost, ${report.duplicates.length} duplicated, ${report.reordered.length} reordered, ${report.mismatched.length} mismatched, ${report.conflictingAcks.length} conflicting acks`];
  const show = (name: string, items: unknown[]): void => {
    if (items.length > 0) lines.push(`  ${name}: ${items.slice(0, limit).map((i) => JSON.stringify(i)).join(', ')}${items.length > limit ? ', …' : ''}`);
  };
  show('lost', report.lost);
  show('duplicates', report.duplicates);
  show('reordered', report.reordered);
  show('mismatched', report.mismatched);
  show('conflicting acks', report.conflictingAcks);
  return lines.join('\n');
}
