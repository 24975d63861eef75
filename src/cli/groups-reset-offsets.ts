/**
 * `tributary groups reset-offsets`: kafka-consumer-groups --reset-offsets. Computes new committed
 * offsets for a group that has no active members, prints them, and commits them with --execute
 * (--dry-run, the default, only prints). Targets outside [earliest, latest] are clamped, as Kafka does.
 */
import type { Command } from 'commander';
import type { Admin } from '../client/admin.js';
import { formatTable } from '../util/format-table.js';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { byTopicPartition, collectList, explainTopicError, signedIntOption, withAdmin } from './topics-common.js';

export interface ResetFlags extends ClientFlags {
  group: string;
  topic: string[];
  allTopics?: boolean;
  toEarliest?: boolean;
  toLatest?: boolean;
  toOffset?: number;
  shiftBy?: number;
  toDatetime?: string;
  dryRun?: boolean;
  execute?: boolean;
}

type TP = { topic: string; partition: number };
export type Spec =
  | { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'shift'; by: number } | { kind: 'datetime'; timestamp: number };

const key = (tp: TP): string => `${tp.topic}-${tp.partition}`;

export function parseSpec(opts: ResetFlags): Spec {
  const given: Spec[] = [];
  if (opts.toEarliest) given.push({ kind: 'earliest' });
  if (opts.toLatest) given.push({ kind: 'latest' });
  if (opts.toOffset !== undefined) given.push({ kind: 'offset', offset: opts.toOffset });
  if (opts.shiftBy !== undefined) given.push({ kind: 'shift', by: opts.shiftBy });
  if (opts.toDatetime !== undefined) {
    const timestamp = Date.parse(opts.toDatetime);
    if (Number.isNaN(timestamp)) throw new UsageError(`--to-datetime expects an ISO-8601 date-time such as 2024-01-31T12:00:00.000Z, got "${opts.toDatetime}"`);
    given.push({ kind: 'datetime', timestamp });
  }
  if (given.length !== 1) {
    throw new UsageError(`give exactly one of --to-earliest, --to-latest, --to-offset, --shift-by, --to-datetime${given.length > 1 ? ` (got ${given.length})` : ''}`);
  }
  return given[0];
}

/** `T` (every partition) or `T:0,2`. */
function parseTopicArg(arg: string): { topic: string; partitions: number[] | null } {
  const i = arg.lastIndexOf(':');
  if (i < 0) return { topic: arg, partitions: null };
  const topic = arg.slice(0, i);
  const partitions = arg.slice(i + 1).split(',').map((p) => p.trim());
  if (!topic || partitions.some((p) => !/^\d+$/.test(p))) throw new UsageError(`--topic expects TOPIC or TOPIC:PARTITION,PARTITION…, got "${arg}"`);
  return { topic, partitions: partitions.map(Number) };
}

export async function partitionsToReset(admin: Admin, opts: ResetFlags): Promise<TP[]> {
  if (opts.allTopics) {
    const committed = await admin.listGroupOffsets(opts.group);
    if (committed.length === 0) throw new Error(`group '${opts.group}' has no committed offsets, so --all-topics selects nothing: name the partitions with --topic`);
    return committed.map(({ topic, partition }) => ({ topic, partition }));
  }
  const out = new Map<string, TP>();
  for (const arg of opts.topic) {
    const { topic, partitions } = parseTopicArg(arg);
    let count: number;
    try {
      count = (await admin.describeTopics([topic]))[0].partitions.length;
    } catch (err) {
      explainTopicError(err, topic);
    }
    for (const partition of partitions ?? Array.from({ length: count }, (_, p) => p)) {
      if (partition >= count) throw new Error(`partition ${partition} of topic '${topic}' does not exist (the topic has ${count} partitions)`);
      out.set(key({ topic, partition }), { topic, partition });
    }
  }
  return [...out.values()];
}

export async function newOffsets(admin: Admin, group: string, tps: TP[], spec: Spec): Promise<Array<TP & { offset: number }>> {
  const [earliest, latest] = await Promise.all([
    admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'earliest' as const }))),
    admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const }))),
  ]);
  const low = new Map(earliest.map((r) => [key(r), r.offset]));
  const high = new Map(latest.map((r) => [key(r), r.offset]));
  const clamp = (tp: TP, offset: number): number => Math.min(Math.max(offset, low.get(key(tp))!), high.get(key(tp))!);
  switch (spec.kind) {
    case 'earliest':
      return tps.map((tp) => ({ ...tp, offset: low.get(key(tp))! }));
    case 'latest':
      return tps.map((tp) => ({ ...tp, offset: high.get(key(tp))! }));
    case 'offset':
      return tps.map((tp) => ({ ...tp, offset: clamp(tp, spec.offset) }));
    case 'shift': {
      const committed = new Map((await admin.listGroupOffsets(group, tps)).map((c) => [key(c), c.offset]));
      return tps.map((tp) => {
        const current = committed.get(key(tp)) ?? -1;
        if (current < 0) {
          throw new Error(`cannot shift the offset of ${key(tp)}: group '${group}' has no committed offset there — use --to-earliest, --to-latest or --to-offset for it`);
        }
        return { ...tp, offset: clamp(tp, current + spec.by) };
      });
    }
    case 'datetime': {
      const found = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: spec.timestamp })));
      // No record at or after the time: the end of the partition.
      return found.map((r) => ({ topic: r.topic, partition: r.partition, offset: r.offset >= 0 ? r.offset : high.get(key(r))! }));
    }
  }
}

export function registerGroupsResetOffsets(groups: Command): void {
  const cmd = groups
    .command('reset-offsets')
    .description('Reset a group\'s committed offsets (the group must have no active members); prints the new offsets, commits them with --execute')
    .requiredOption('-g, --group <group>', 'the group whose offsets to reset')
    .option('-t, --topic <topic[:partitions]>', 'topic to reset, all partitions or e.g. orders:0,2 (repeatable)', collectList, [])
    .option('--all-topics', 'every partition the group has committed offsets for')
    .option('--to-earliest', 'to the earliest offset still in the log')
    .option('--to-latest', 'to the end of the log (skip everything so far)')
    .option('--to-offset <n>', 'to this offset (clamped to the partition\'s range)', signedIntOption('--to-offset'))
    .option('--shift-by <n>', 'move the committed offset by n (negative goes back; clamped)', signedIntOption('--shift-by'))
    .option('--to-datetime <iso>', 'to the first record at or after this time, e.g. 2024-01-31T12:00:00.000Z')
    .option('--dry-run', 'only print the new offsets (the default)')
    .option('--execute', 'commit the new offsets');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary groups reset-offsets --group billing --topic orders --to-earliest --dry-run
  $ tributary groups reset-offsets --group billing --topic orders:0,1 --shift-by -100 --execute
  $ tributary groups reset-offsets --group billing --all-topics --to-datetime 2024-01-31T12:00:00.000Z --execute

Stop the group's consumers first: offsets of a group with active members cannot be reset.`)
    .action(action(async (opts: ResetFlags) => {
      const scopes = (opts.topic.length > 0 ? 1 : 0) + (opts.allTopics ? 1 : 0);
      if (scopes !== 1) throw new UsageError('give the partitions to reset: --topic <topic[:partitions]> (repeatable) or --all-topics, one of the two');
      if (opts.dryRun && opts.execute) throw new UsageError('give --dry-run or --execute, not both');
      const spec = parseSpec(opts);
      if (!opts.dryRun && !opts.execute) {
        process.stderr.write('WARN: No action will be performed as the --execute option is missing. Add --execute to commit these offsets, or --dry-run to only show them.\n');
      }
      await withAdmin(opts, async (admin) => {
        const [d] = await admin.describeGroups([opts.group]);
        if (d.state !== 'Empty' && d.state !== 'Dead') {
          throw new Error(`Assignments can only be reset if the group '${opts.group}' is inactive, but the current state is ${d.state} — stop its ${d.members.length} consumer(s) first`);
        }
        const tps = await partitionsToReset(admin, opts);
        const offsets = (await newOffsets(admin, opts.group, tps, spec)).sort(byTopicPartition);
        if (opts.execute) await admin.alterGroupOffsets(opts.group, offsets);
        process.stdout.write(formatTable(['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], offsets.map((o) => [opts.group, o.topic, o.partition, o.offset])));
      });
    }));
}
