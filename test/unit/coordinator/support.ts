/** Test doubles for coordinator tests: an in-memory internal topic and a group coordinator over it on a manual clock. */
import { CoordinatorRuntime, type CoordinatorLog, type CoordinatorRecord, type TxnProducer } from '../../../src/coordinator/runtime.js';
import { ManualScheduler } from '../../../src/coordinator/scheduler.js';
import { DEFAULT_GROUP_CONFIG, GroupCoordinator, type GroupCoordinatorConfig } from '../../../src/coordinator/group/group-coordinator.js';
import { groupRecordSerde, type GroupRecord } from '../../../src/coordinator/group/group-records.js';

/** What a partition holds, in order: records (with their producer if transactional) and txn markers. */
type Entry = { rec: CoordinatorRecord; producerId?: bigint } | { marker: { producerId: bigint; commit: boolean } };

export class MemoryLog implements CoordinatorLog {
  readonly partitions: CoordinatorRecord[][];
  readonly entries: Entry[][];
  created = false;
  appends = 0;
  failNext = false;

  constructor(count: number, created = false) {
    this.partitions = Array.from({ length: count }, () => []);
    this.entries = Array.from({ length: count }, () => []);
    this.created = created;
  }

  partitionCount(): number {
    return this.partitions.length;
  }

  exists(): boolean {
    return this.created;
  }

  async ensure(): Promise<void> {
    this.created = true;
  }

  async append(partition: number, records: CoordinatorRecord[], producer?: TxnProducer): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.appends++;
    this.partitions[partition]!.push(...records);
    for (const rec of records) this.entries[partition]!.push(producer ? { rec, producerId: producer.producerId } : { rec });
  }

  /** A COMMIT/ABORT control marker, as the transaction coordinator writes it. */
  writeMarker(partition: number, producerId: bigint, commit: boolean): void {
    this.entries[partition]!.push({ marker: { producerId, commit } });
  }

  readAll(partition: number, visit: (rec: CoordinatorRecord, producerId?: bigint) => void, marker?: (producerId: bigint, commit: boolean) => void): void {
    for (const e of this.entries[partition]!) {
      if ('marker' in e) marker?.(e.marker.producerId, e.marker.commit);
      else visit(e.rec, e.producerId);
    }
  }

  /** Every record decoded, in append order per partition. */
  decoded(): GroupRecord[] {
    return this.partitions.flat().map((r) => groupRecordSerde.decode(r)!);
  }
}

export interface Harness {
  clock: ManualScheduler;
  log: MemoryLog;
  runtime: CoordinatorRuntime<GroupRecord>;
  gc: GroupCoordinator;
}

export async function harness(config: Partial<GroupCoordinatorConfig> = {}, log = new MemoryLog(4), clock = new ManualScheduler()): Promise<Harness> {
  const runtime = new CoordinatorRuntime(log, groupRecordSerde, clock);
  const gc = new GroupCoordinator(runtime.timers, { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 0, ...config }, {
    partitionOf: (groupId) => runtime.partitionOf(groupId),
  });
  runtime.bind(gc);
  await runtime.load();
  return { clock, log, runtime, gc };
}

/** Lets queued operations (and their persistence) run; no time passes on the manual clock. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
