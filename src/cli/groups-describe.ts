/**
 * `tributary groups describe`: kafka-consumer-groups --describe. By default each partition's committed
 * offset, log-end offset and lag, with the member it is assigned to; --members lists the members,
 * --state the group's state. A partition assigned but never committed shows '-' for CURRENT-OFFSET
 * and LAG; a committed partition no member holds shows '-' for the member columns.
 */
import type { Command } from 'commander';
import type { Admin, GroupDescription } from '../client/admin.js';
import { formatTable } from '../util/format-table.js';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { byTopicPartition, collectList, withAdmin } from './topics-common.js';

interface DescribeFlags extends ClientFlags {
  group: string[];
  allGroups?: boolean;
  members?: boolean;
  state?: boolean;
  verbose?: boolean;
}

export interface OffsetRow {
  group: string;
  topic: string;
  partition: number;
  currentOffset: number | null;
  logEndOffset: number | null;
  lag: number | null;
  consumerId: string;
  host: string;
  clientId: string;
}

const dash = (v: number | null): string | number => (v === null ? '-' : v);

/** Latest offsets of the partitions; a partition whose leader cannot say (deleted topic, …) reads null. */
export async function logEndOffsets(admin: Admin, tps: Array<{ topic: string; partition: number }>): Promise<Map<string, number | null>> {
  const out = new Map<string, number | null>();
  if (tps.length === 0) return out;
  try {
    const res = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })));
    for (const r of res) out.set(`${r.topic}-${r.partition}`, r.offset);
  } catch {
    // One bad partition fails the batch: ask one at a time so the others still show.
    await Promise.all(tps.map(async (tp) => {
      try {
        const [r] = await admin.listOffsets([{ ...tp, timestamp: 'latest' }]);
        out.set(`${tp.topic}-${tp.partition}`, r.offset);
      } catch {
        out.set(`${tp.topic}-${tp.partition}`, null);
      }
    }));
  }
  return out;
}

/** Rows for the offsets view, as kafka-consumer-groups computes them. */
export async function collectOffsetRows(admin: Admin, d: GroupDescription): Promise<OffsetRow[]> {
  const committed = await admin.listGroupOffsets(d.groupId);
  const committedBy = new Map(committed.map((c) => [`${c.topic}-${c.partition}`, c.offset]));
  const rows: Array<Omit<OffsetRow, 'logEndOffset' | 'lag'>> = [];
  const assigned = new Set<string>();
  for (const m of d.members) {
    for (const tp of m.assignment) {
      const key = `${tp.topic}-${tp.partition}`;
      assigned.add(key);
      rows.push({ group: d.groupId, ...tp, currentOffset: committedBy.get(key) ?? null, consumerId: m.memberId, host: m.host, clientId: m.clientId });
    }
  }
  for (const c of committed) {
    if (!assigned.has(`${c.topic}-${c.partition}`)) rows.push({ group: d.groupId, topic: c.topic, partition: c.partition, currentOffset: c.offset, consumerId: '-', host: '-', clientId: '-' });
  }
  const leo = await logEndOffsets(admin, rows);
  return rows.sort(byTopicPartition).map((r) => {
    const end = leo.get(`${r.topic}-${r.partition}`) ?? null;
    const current = r.currentOffset !== null && r.currentOffset >= 0 ? r.currentOffset : null;
    return { ...r, currentOffset: current, logEndOffset: end, lag: current !== null && end !== null ? end - current : null };
  });
}

/** Kafka's notes about a live group's state, on stderr. */
function noteState(d: GroupDescription): void {
  switch (d.state) {
    case 'Empty':
      process.stderr.write(`\nConsumer group '${d.groupId}' has no active members.\n`);
      break;
    case 'PreparingRebalance':
    case 'CompletingRebalance':
    case 'Assigning':
    case 'Reconciling':
      process.stderr.write(`\nWarning: Consumer group '${d.groupId}' is rebalancing.\n`);
      break;
  }
}

function missingGroups(ids: string[]): Error {
  const list = ids.map((g) => `'${g}'`).join(', ');
  return new Error(`consumer group${ids.length > 1 ? 's' : ''} ${list} ${ids.length > 1 ? 'do' : 'does'} not exist — list groups with \`tributary groups list\``);
}

export function registerGroupsDescribe(groups: Command): void {
  const cmd = groups
    .command('describe')
    .description('Describe consumer groups: offsets and lag per partition (default), members, or state')
    .option('-g, --group <group>', 'group to describe (repeatable)', collectList, [])
    .option('--all-groups', 'describe every group')
    .option('--members', 'list the active members and how many partitions each has')
    .option('--verbose', 'with --members: also each member\'s partitions')
    .option('--state', 'show the group\'s coordinator, assignor, state and member count');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary groups describe --group billing
  $ tributary groups describe --group billing --members --verbose
  $ tributary groups describe --all-groups --state

LAG is LOG-END-OFFSET minus CURRENT-OFFSET (the committed offset); '-' when either is unknown.`)
    .action(action(async (opts: DescribeFlags) => {
      if (opts.group.length === 0 && !opts.allGroups) throw new UsageError('give --group <group> (repeatable) or --all-groups');
      if (opts.group.length > 0 && opts.allGroups) throw new UsageError('give either --group or --all-groups, not both');
      if (opts.members && opts.state) throw new UsageError('--members and --state are different views: give one of them');
      await withAdmin(opts, async (admin) => {
        const ids = opts.allGroups ? (await admin.listGroups()).map((g) => g.groupId) : [...new Set(opts.group)];
        const described = await admin.describeGroups(ids);
        const dead = described.filter((d) => d.state === 'Dead').map((d) => d.groupId);
        if (opts.state) {
          const { brokers } = await admin.describeCluster();
          const rows = described.filter((d) => d.state !== 'Dead').map((d) => {
            const b = brokers.find((x) => x.nodeId === d.coordinator);
            return [d.groupId, `${b ? `${b.host}:${b.port}` : '-'} (${d.coordinator})`, d.assignor || '-', d.state, d.members.length];
          });
          if (rows.length > 0) process.stdout.write(formatTable(['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'], rows));
          if (dead.length > 0) throw missingGroups(dead);
          return;
        }
        for (const d of described) {
          if (d.state === 'Dead') continue;
          noteState(d);
          if (opts.members) {
            if (d.members.length === 0) continue;
            const header = ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', ...(opts.verbose ? ['ASSIGNMENT'] : [])];
            const rows = d.members.map((m) => {
              const perTopic = new Map<string, number[]>();
              for (const tp of [...m.assignment].sort(byTopicPartition)) perTopic.set(tp.topic, [...(perTopic.get(tp.topic) ?? []), tp.partition]);
              const assignment = [...perTopic].map(([t, ps]) => `${t}(${ps.join(',')})`).join(', ') || '-';
              return [d.groupId, m.memberId, m.host, m.clientId, m.assignment.length, ...(opts.verbose ? [assignment] : [])];
            });
            process.stdout.write(formatTable(header, rows));
            continue;
          }
          const rows = await collectOffsetRows(admin, d);
          if (rows.length === 0) continue;
          process.stdout.write(formatTable(
            ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
            rows.map((r) => [r.group, r.topic, r.partition, dash(r.currentOffset), dash(r.logEndOffset), dash(r.lag), r.consumerId, r.host, r.clientId]),
          ));
        }
        if (dead.length > 0) throw missingGroups(dead);
      });
    }));
}
