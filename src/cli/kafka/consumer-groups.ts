/**
 * kafka-consumer-groups.sh: --list (with --state / --type), --describe (offsets, --members, --state),
 * --reset-offsets, --delete and --delete-offsets, in Kafka 4's fixed-width layouts (each table starts
 * with a blank line; the variable columns are at least 15 wide). The work is `tributary groups`'s:
 * the offsets rows, the reset computation and the Admin calls are shared with it.
 */
import type { Admin, GroupDescription } from '../../client/admin.js';
import { collectOffsetRows } from '../groups-describe.js';
import { newOffsets, parseSpec, partitionsToReset, type ResetFlags } from '../groups-reset-offsets.js';
import { byTopicPartition, withAdmin } from '../topics-common.js';
import type { ClientFlags } from '../common.js';
import {
  checkInvalid, clientFlags, KafkaToolError, KafkaUsageError, readProperties, refuseZookeeper, ZOOKEEPER_OPTION, type KafkaTool, type ParsedArgs,
} from './options.js';

const ACTIONS = ['list', 'describe', 'delete', 'reset-offsets', 'delete-offsets'];
const SCENARIOS = ['to-earliest', 'to-latest', 'to-offset', 'shift-by', 'to-datetime', 'to-current', 'by-duration', 'from-file'];

/** Left-aligned columns (Java's %-Ns): every cell padded to its width, one space between. */
function row(widths: number[], cells: Array<string | number>): string {
  return cells.map((c, i) => (i < widths.length ? String(c).padEnd(widths[i]) : String(c))).join(' ');
}

const widest = (min: number, values: string[]): number => Math.max(min, ...values.map((v) => v.length));
const dash = (v: number | null): string | number => (v === null ? '-' : v);

async function list(admin: Admin, args: ParsedArgs): Promise<void> {
  const split = (v: string | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const listed = await admin.listGroups({ states: split(args.value('state')), types: split(args.value('type')) });
  if (!args.has('state') && !args.has('type')) {
    if (listed.length > 0) process.stdout.write(listed.map((g) => g.groupId).join('\n') + '\n');
    return;
  }
  const widths = [widest(15, listed.map((g) => g.groupId)) + 10];
  const header = ['GROUP'];
  const cells: Array<(g: (typeof listed)[number]) => string> = [(g) => g.groupId];
  if (args.has('type')) {
    widths.push(20);
    header.push('TYPE');
    cells.push((g) => (g.type === '' ? 'Unknown' : g.type === 'classic' ? 'Classic' : g.type === 'consumer' ? 'Consumer' : g.type));
  }
  if (args.has('state')) {
    widths.push(20);
    header.push('STATE');
    cells.push((g) => g.state || 'Unknown');
  }
  // Every column is padded, the last one too (Kafka's format ends with %-20s).
  const line = (c: string[]): string => c.map((v, i) => v.padEnd(widths[i])).join(' ');
  process.stdout.write([line(header), ...listed.map((g) => line(cells.map((f) => f(g))))].join('\n') + '\n');
}

/** Kafka's note for a group's state, on stderr; false for a group that does not exist. */
function noteState(d: GroupDescription): boolean {
  if (d.state === 'Empty') process.stderr.write(`\nConsumer group '${d.groupId}' has no active members.\n`);
  if (['PreparingRebalance', 'CompletingRebalance', 'Assigning', 'Reconciling'].includes(d.state)) process.stderr.write(`\nWarning: Consumer group '${d.groupId}' is rebalancing.\n`);
  return d.state !== 'Dead';
}

async function describe(admin: Admin, args: ParsedArgs): Promise<void> {
  const views = ['members', 'offsets', 'state'].filter((v) => args.has(v));
  if (views.length > 1) throw new KafkaUsageError('Option [describe] takes at most one of these options: [members], [offsets], [state]');
  const ids = args.has('all-groups') ? (await admin.listGroups()).map((g) => g.groupId) : [...new Set(args.values('group'))];
  if (ids.length === 0) return;
  const described = (await admin.describeGroups(ids)).sort((a, b) => (a.groupId < b.groupId ? -1 : a.groupId > b.groupId ? 1 : 0));
  const missing: string[] = [];
  let out = '';
  const cluster = views[0] === 'state' ? await admin.describeCluster() : undefined;
  for (const d of described) {
    if (!noteState(d)) {
      missing.push(d.groupId);
      continue;
    }
    if (views[0] === 'members') {
      if (d.members.length === 0) continue;
      const withInstance = d.members.some((m) => m.groupInstanceId !== null && m.groupInstanceId !== '');
      const widths = [
        widest(15, d.members.map(() => d.groupId)), widest(15, d.members.map((m) => m.memberId)),
        ...(withInstance ? [widest(17, d.members.map((m) => m.groupInstanceId ?? ''))] : []),
        widest(15, d.members.map((m) => m.host)), widest(15, d.members.map((m) => m.clientId)), 15,
      ];
      const assignment = (m: GroupDescription['members'][number]): string => {
        if (m.assignment.length === 0) return '-';
        const byTopic = new Map<string, number[]>();
        for (const tp of [...m.assignment].sort(byTopicPartition)) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
        return [...byTopic].map(([t, ps]) => `${t}:${ps.join(',')}`).sort().join(';');
      };
      const verbose = args.has('verbose');
      const assignWidth = widest(20, d.members.map(assignment));
      const extra = (cells: string[]): string => (verbose ? `${cells[0].padEnd(15)} ${cells[1].padEnd(assignWidth)} ${cells[2].padEnd(15)} ${cells[3].padEnd(20)}` : '');
      const head = ['GROUP', 'CONSUMER-ID', ...(withInstance ? ['GROUP-INSTANCE-ID'] : []), 'HOST', 'CLIENT-ID', '#PARTITIONS'];
      out += `\n${row(widths, head)} ${extra(['CURRENT-EPOCH', 'CURRENT-ASSIGNMENT', 'TARGET-EPOCH', 'TARGET-ASSIGNMENT'])}\n`;
      for (const m of d.members) {
        const cells = [d.groupId, m.memberId, ...(withInstance ? [m.groupInstanceId ?? ''] : []), m.host, m.clientId, m.assignment.length];
        out += `${row(widths, cells)} ${extra(['-', assignment(m), '-', '-'])}\n`;
      }
      continue;
    }
    if (views[0] === 'state') {
      const b = cluster!.brokers.find((x) => x.nodeId === d.coordinator);
      const coordinator = `${b ? `${b.host}:${b.port}` : '-'}  (${d.coordinator})`;
      const widths = [Math.max(15, d.groupId.length), Math.max(25, coordinator.length), 20, 20];
      out += `\n${row(widths, ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS'])}`;
      out += `\n${row(widths, [d.groupId, coordinator, d.assignor || '-', d.state, d.members.length])}\n`;
      continue;
    }
    const rows = await collectOffsetRows(admin, d);
    if (rows.length === 0) continue;
    const widths = [widest(15, rows.map((r) => r.group)), widest(15, rows.map((r) => r.topic)), 10, 15, 15, 15, widest(15, rows.map((r) => r.consumerId)), widest(15, rows.map((r) => r.host))];
    out += `\n${row(widths, ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'])}`;
    for (const r of rows) out += `\n${row(widths, [r.group, r.topic, r.partition, dash(r.currentOffset), dash(r.logEndOffset), dash(r.lag), r.consumerId, r.host, r.clientId])}`;
    out += '\n';
  }
  process.stdout.write(out);
  if (missing.length > 0) throw new KafkaToolError(missing.map((g) => `Consumer group '${g}' does not exist.`).join('\n'));
}

async function resetOffsets(admin: Admin, args: ParsedArgs, flags: ClientFlags): Promise<void> {
  const scenarios = SCENARIOS.filter((s) => args.has(s));
  for (const unsupported of ['to-current', 'by-duration', 'from-file', 'export']) {
    if (args.has(unsupported)) throw new KafkaToolError(`--${unsupported} is not supported by Tributary's kafka-consumer-groups.sh`);
  }
  if (scenarios.length !== 1) throw new KafkaUsageError(`Option '[reset-offsets]' requires one of the following scenarios: ${SCENARIOS.map((s) => `[${s}]`).join(', ')}`);
  if (args.has('topic') === args.has('all-topics')) throw new KafkaUsageError('One of the reset scopes should be defined: --all-topics, --topic.');
  if (args.has('dry-run') && args.has('execute')) throw new KafkaUsageError('Option [dry-run] can\'t be used with option [execute]');
  const execute = args.has('execute');
  if (!execute && !args.has('dry-run')) {
    process.stderr.write('WARN: No action will be performed as the --execute option is missing. Add --execute to commit the new offsets, or --dry-run to only show them.\n');
  }
  const groups = args.has('all-groups') ? (await admin.listGroups()).map((g) => g.groupId) : [...new Set(args.values('group'))];
  const results: Array<{ group: string; offsets: Array<{ topic: string; partition: number; offset: number }> }> = [];
  const inactive: string[] = [];
  for (const group of groups) {
    const [d] = await admin.describeGroups([group]);
    if (d.state !== 'Empty' && d.state !== 'Dead') {
      inactive.push(`Assignments can only be reset if the group '${group}' is inactive, but the current state is ${d.state}.`);
      continue;
    }
    const opts: ResetFlags = {
      ...flags,
      group,
      topic: args.values('topic'),
      allTopics: args.has('all-topics') || undefined,
      toEarliest: args.has('to-earliest') || undefined,
      toLatest: args.has('to-latest') || undefined,
      toOffset: args.int('to-offset'),
      shiftBy: args.int('shift-by'),
      toDatetime: args.value('to-datetime'),
    };
    const tps = await partitionsToReset(admin, opts);
    const offsets = (await newOffsets(admin, group, tps, parseSpec(opts))).sort(byTopicPartition);
    if (execute) await admin.alterGroupOffsets(group, offsets);
    results.push({ group, offsets });
  }
  const all = results.flatMap((r) => r.offsets.map((o) => ({ group: r.group, ...o })));
  if (results.length > 0) {
    const widths = [widest(15, results.map((r) => r.group)), widest(15, all.map((o) => o.topic)), 10];
    process.stdout.write(`\n${row(widths, ['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'])}${all.map((o) => `\n${row(widths, [o.group, o.topic, o.partition, o.offset])}`).join('')}\n`);
  }
  if (inactive.length > 0) throw new KafkaToolError(inactive.join('\n'));
}

async function deleteGroups(admin: Admin, args: ParsedArgs): Promise<void> {
  const ids = args.has('all-groups') ? (await admin.listGroups()).map((g) => g.groupId) : [...new Set(args.values('group'))];
  const settled = await Promise.allSettled(ids.map((g) => admin.deleteGroups([g])));
  const quoted = (gs: string[]): string => gs.map((g) => `'${g}'`).join(', ');
  const ok = ids.filter((_, i) => settled[i].status === 'fulfilled');
  const failed = ids.flatMap((g, i) => {
    const s = settled[i];
    return s.status === 'rejected' ? [`* Group '${g}' could not be deleted due to: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`] : [];
  });
  if (failed.length === 0) {
    process.stdout.write(`Deletion of requested consumer groups (${quoted(ok)}) was successful.\n`);
    return;
  }
  if (ok.length > 0) process.stdout.write(`These consumer groups were deleted successfully: ${quoted(ok)}\n`);
  throw new KafkaToolError(`Deletion of some consumer groups failed:\n${failed.join('\n')}`);
}

async function deleteOffsets(admin: Admin, args: ParsedArgs): Promise<void> {
  const group = args.value('group');
  if (group === undefined || args.values('group').length > 1) throw new KafkaUsageError('Option [delete-offsets] takes exactly one [group]');
  if (!args.has('topic')) throw new KafkaUsageError('Option [delete-offsets] takes the [topic] option');
  const tps: Array<{ topic: string; partition: number }> = [];
  for (const t of args.values('topic')) {
    const i = t.lastIndexOf(':');
    if (i > 0) {
      for (const p of t.slice(i + 1).split(',')) {
        if (!/^\d+$/.test(p.trim())) throw new KafkaUsageError(`Invalid partition '${p}' in --topic ${t}`);
        tps.push({ topic: t.slice(0, i), partition: Number(p) });
      }
    } else {
      const [d] = await admin.describeTopics([t]);
      for (const p of d.partitions) tps.push({ topic: t, partition: p.partition });
    }
  }
  tps.sort(byTopicPartition);
  let failure: string | null = null;
  try {
    await admin.deleteGroupOffsets(group, tps);
  } catch (err) {
    failure = err instanceof Error ? err.message : String(err);
  }
  const width = widest(15, tps.map((tp) => tp.topic));
  const status = failure === null ? 'Successful' : `Error: ${failure}`;
  if (failure === null) process.stdout.write(`Request succeeded for deleting offsets from group ${group}.\n`);
  process.stdout.write(`\n${row([width, 10, 15], ['TOPIC', 'PARTITION', 'STATUS'])}${tps.map((tp) => `\n${row([width, 10, 15], [tp.topic, tp.partition, status])}`).join('')}\n`);
  if (failure !== null) throw new KafkaToolError(failure);
}

const tool: KafkaTool = {
  description: 'List all consumer groups, describe a consumer group, delete consumer group info, or reset consumer group offsets (Tributary).',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED: The server(s) to connect to.', metavar: 'String: server to connect to' },
    'command-config': { arg: 'required', help: 'Property file containing configs to be passed to Admin Client.', metavar: 'String: command config property file' },
    list: { arg: 'none', help: 'List all consumer groups.' },
    describe: { arg: 'none', help: 'Describe consumer group and list offset lag (number of messages not yet processed) related to given group.' },
    delete: { arg: 'none', help: 'Pass in groups to delete topic partition offsets and ownership information over the entire consumer group.' },
    'reset-offsets': { arg: 'none', help: 'Reset offsets of consumer group. Supports one consumer group at the time; dry run unless --execute.' },
    'delete-offsets': { arg: 'none', help: 'Delete offsets of consumer group. Supports one consumer group at the time, and multiple topics.' },
    group: { arg: 'required', help: 'The consumer group we wish to act on (repeatable).', metavar: 'String: consumer group' },
    'all-groups': { arg: 'none', help: 'Apply to all consumer groups.' },
    topic: { arg: 'required', help: 'The topic whose consumer group information should be deleted or reset; topic:0,1 names partitions.', metavar: 'String: topic' },
    'all-topics': { arg: 'none', help: 'Consider all topics assigned to a group in the reset-offsets process.' },
    members: { arg: 'none', help: 'Describe members of the group.' },
    offsets: { arg: 'none', help: 'Describe the group and list all topic partitions in the group along with their offset lag (the default).' },
    state: { arg: 'optional', help: 'When specified with --describe, includes the state of the group. With --list, shows (and optionally filters by) the groups\' states.', metavar: 'String' },
    type: { arg: 'optional', help: 'When specified with --list, shows (and optionally filters by) the groups\' types: classic, consumer.', metavar: 'String' },
    verbose: { arg: 'none', help: 'Provide additional information, if any, when describing the group.' },
    'dry-run': { arg: 'none', help: 'Only show results without executing changes on Consumer Groups.' },
    execute: { arg: 'none', help: 'Execute operation.' },
    'to-earliest': { arg: 'none', help: 'Reset offsets to earliest offset.' },
    'to-latest': { arg: 'none', help: 'Reset offsets to latest offset.' },
    'to-offset': { arg: 'required', help: 'Reset offsets to a specific offset.', metavar: 'Long: offset' },
    'shift-by': { arg: 'required', help: 'Reset offsets shifting current offset by \'n\', where \'n\' can be positive or negative.', metavar: 'Long: number-of-offsets' },
    'to-datetime': { arg: 'required', help: 'Reset offsets to offset from datetime. Format: \'YYYY-MM-DDTHH:mm:SS.sss\'', metavar: 'String: datetime' },
    'to-current': { arg: 'none', help: 'Not supported.' },
    'by-duration': { arg: 'required', help: 'Not supported.', metavar: 'String: duration' },
    'from-file': { arg: 'required', help: 'Not supported.', metavar: 'String: path to CSV file' },
    export: { arg: 'none', help: 'Not supported.' },
    timeout: { arg: 'required', help: 'Accepted and ignored.', metavar: 'Long: timeout (ms)' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  async run(args) {
    refuseZookeeper(args);
    const actions = ACTIONS.filter((a) => args.has(a));
    if (actions.length !== 1) throw new KafkaUsageError(`Command must include exactly one action: ${ACTIONS.map((a) => `--${a}`).join(', ')}`);
    const [action] = actions;
    if (['describe', 'delete', 'reset-offsets'].includes(action) && !args.has('group') && !args.has('all-groups')) {
      throw new KafkaUsageError(`Option [${action}] takes one of these options: [all-groups], [group]`);
    }
    checkInvalid(args, 'all-groups', ['group']);
    checkInvalid(args, 'members', ['list', 'delete', 'reset-offsets', 'delete-offsets']);
    checkInvalid(args, 'verbose', ['list', 'delete', 'reset-offsets', 'delete-offsets']);
    const props = args.has('command-config') ? readProperties(args.value('command-config')!) : {};
    const flags = clientFlags(args.value('bootstrap-server'), props);
    await withAdmin(flags, async (admin) => {
      switch (action) {
        case 'list':
          return list(admin, args);
        case 'describe':
          return describe(admin, args);
        case 'delete':
          return deleteGroups(admin, args);
        case 'reset-offsets':
          return resetOffsets(admin, args, flags);
        default:
          return deleteOffsets(admin, args);
      }
    });
  },
  errorText: (message) => `\nError: ${message}\n`,
};

export default tool;
