/** Test doubles for coordinator tests: an in-memory internal topic and a group coordinator over it on a manual clock. */
import { CoordinatorRuntime, type CoordinatorLog, type CoordinatorRecord } from '../../../src/coordinator/runtime.js';
import { ManualScheduler } from '../../../src/coordinator/scheduler.js';
import { DEFAULT_GROUP_CONFIG, GroupCoordinator, type GroupCoordinatorConfig } from '../../../src/coordinator/group/group-coordinator.js';
import { groupRecordSerde, type GroupRecord } from '../../../src/coordinator/group/group-records.js';

export class MemoryLog implements CoordinatorLog {
  readonly partitions: CoordinatorRecord[][];
  created = false;
  appends = 0;
  failNext = false;

  constructor(count: number, created = false) {
    this.partitions = Array.from({ length: count }, () => []);
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

  async append(partition: number, records: CoordinatorRecord[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('disk full');
    }
    this.appends++;
    this.partitions[partition]!.push(...records);
  }

  readAll(partition: number, visit: (rec: CoordinatorRecord) => void): void {
    for (const r of this.partitions[partition]!) visit(r);
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
  const gc = new GroupCoordinator(runtime.timers, { ...DEFAULT_GROUP_CONFIG, initialRebalanceDelayMs: 0, ...config });
  runtime.bind(gc);
  await runtime.load();
  return { clock, log, runtime, gc };
}

/** Lets queued operations (and their persistence) run; no time passes on the manual clock. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
