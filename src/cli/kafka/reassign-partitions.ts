/**
 * kafka-reassign-partitions.sh: --generate a proposal moving the topics of --topics-to-move-json-file onto
 * --broker-list, --execute / --verify / --cancel the reassignment of --reassignment-json-file (KIP-455 through
 * AlterPartitionReassignments / ListPartitionReassignments), with --throttle setting Kafka's replication
 * throttles (broker rates on the brokers involved, throttled-replica lists on the topics) that --verify and
 * --cancel clear once nothing moves. Kafka's JSON ({"version":1,"partitions":[{"topic","partition","replicas",
 * "log_dirs"}]}) and output lines. Log-directory moves (--reassignment-json-file log_dirs other than "any",
 * --replica-alter-log-dirs-throttle) are not supported: Tributary has one log directory per broker.
 */
import { readFileSync } from 'node:fs';
import type { Admin, TopicDescription } from '../../client/admin.js';
import { assignReplicas } from '../../cluster/replica-assignment.js';
import { withAdmin } from '../topics-common.js';
import { clientFlags, KafkaToolError, KafkaUsageError, readProperties, requireOption, type KafkaTool, type ParsedArgs } from './options.js';
import { exceptionName } from './leader-election.js';

export interface Move {
  topic: string;
  partition: number;
  replicas: number[];
}

const ACTIONS = ['generate', 'execute', 'verify', 'cancel', 'list'];
const BROKER_RATES = ['leader.replication.throttled.rate', 'follower.replication.throttled.rate', 'replica.alter.log.dirs.io.max.bytes.per.second'];
const TOPIC_THROTTLES = ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'];

const tp = (m: { topic: string; partition: number }): string => `${m.topic}-${m.partition}`;

/** Kafka's reassignment JSON, every log dir "any". */
export function formatReassignmentJson(moves: readonly Move[]): string {
  return JSON.stringify({ version: 1, partitions: moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: m.replicas, log_dirs: m.replicas.map(() => 'any') })) });
}

function readJson(path: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KafkaToolError(`Unable to read the ${what} ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Parses and checks a reassignment file as Kafka does (no empty list, no duplicate partitions or replicas). */
export function parseReassignmentJson(doc: unknown): Move[] {
  const list = (doc as { partitions?: unknown } | null)?.partitions;
  if (!Array.isArray(list)) throw new KafkaToolError('The reassignment file has no "partitions" list');
  if (list.length === 0) throw new KafkaToolError('Partition reassignment list cannot be empty');
  const moves = list.map((p: { topic?: unknown; partition?: unknown; replicas?: unknown; log_dirs?: unknown }) => {
    if (typeof p?.topic !== 'string' || !Number.isInteger(p.partition) || !Array.isArray(p.replicas) || !p.replicas.every((r) => Number.isInteger(r))) {
      throw new KafkaToolError(`Invalid partition in the reassignment file: ${JSON.stringify(p)}`);
    }
    const replicas = p.replicas as number[];
    if (replicas.length === 0) throw new KafkaToolError(`Partition replica list cannot be empty: ${p.topic}-${String(p.partition)}`);
    if (new Set(replicas).size !== replicas.length) throw new KafkaToolError(`Partition replica lists may not contain duplicate entries: ${p.topic}-${String(p.partition)} has ${replicas.join(',')}`);
    if (Array.isArray(p.log_dirs) && p.log_dirs.some((d) => d !== 'any')) throw new KafkaToolError('Moving replicas between log directories is not supported: Tributary has one log directory per broker (use "any")');
    return { topic: p.topic, partition: p.partition as number, replicas };
  });
  const seen = new Set<string>();
  for (const m of moves) {
    if (seen.has(tp(m))) throw new KafkaToolError(`Cannot reassign the same partition twice: ${tp(m)}`);
    seen.add(tp(m));
  }
  return moves;
}

async function currentAssignment(admin: Admin, topics: string[]): Promise<Map<string, TopicDescription>> {
  const described = await admin.describeTopics([...new Set(topics)]);
  return new Map(described.map((t) => [t.name, t]));
}

function currentReplicas(topics: Map<string, TopicDescription>, m: { topic: string; partition: number }): number[] {
  const p = topics.get(m.topic)?.partitions.find((q) => q.partition === m.partition);
  if (!p) throw new KafkaToolError(`Unable to find partition ${tp(m)}: the topic or partition does not exist`);
  return [...p.replicas];
}

async function generate(admin: Admin, args: ParsedArgs): Promise<void> {
  const doc = readJson(requireOption(args, 'topics-to-move-json-file'), 'topics file') as { topics?: unknown };
  if (!Array.isArray(doc?.topics) || doc.topics.length === 0) throw new KafkaToolError('List of topics to reassign contains no topics ({"topics":[{"topic":"…"}],"version":1})');
  const topics = doc.topics.map((t: { topic?: unknown }) => {
    if (typeof t?.topic !== 'string') throw new KafkaToolError(`Invalid topic entry: ${JSON.stringify(t)}`);
    return t.topic;
  });
  if (new Set(topics).size !== topics.length) throw new KafkaToolError('List of topics to reassign contains duplicate entries');
  const brokerIds = requireOption(args, 'broker-list').split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new KafkaUsageError(`Invalid broker id '${s}' in --broker-list`);
    return n;
  });
  if (new Set(brokerIds).size !== brokerIds.length) throw new KafkaToolError('Broker list contains duplicate entries');
  const cluster = await admin.describeCluster();
  const known = new Map(cluster.brokers.map((b) => [b.nodeId, b]));
  const missing = brokerIds.filter((id) => !known.has(id));
  if (missing.length > 0) throw new KafkaToolError(`The following brokers are not registered: ${missing.join(', ')}`);
  const rackAware = !args.has('disable-rack-aware');
  const placement = brokerIds.map((id) => ({ nodeId: id, rack: rackAware ? known.get(id)!.rack : null }));
  const current = await currentAssignment(admin, topics);
  const currentMoves: Move[] = [];
  const proposed: Move[] = [];
  for (const name of topics) {
    const t = current.get(name)!;
    const parts = [...t.partitions].sort((a, b) => a.partition - b.partition);
    for (const p of parts) currentMoves.push({ topic: name, partition: p.partition, replicas: [...p.replicas] });
    let plan: number[][];
    try {
      plan = assignReplicas(placement, parts.length, parts[0]?.replicas.length ?? 1);
    } catch (err) {
      throw new KafkaToolError(err instanceof Error ? err.message : String(err));
    }
    plan.forEach((replicas, partition) => proposed.push({ topic: name, partition, replicas }));
  }
  process.stdout.write(`Current partition replica assignment\n${formatReassignmentJson(currentMoves)}\n\nProposed partition reassignment configuration\n${formatReassignmentJson(proposed)}\n`);
}

async function execute(admin: Admin, args: ParsedArgs): Promise<void> {
  const moves = parseReassignmentJson(readJson(requireOption(args, 'reassignment-json-file'), 'reassignment file'));
  const throttle = args.int('throttle', -1) ?? -1;
  if (!args.has('additional') && (await admin.listPartitionReassignments()).length > 0) {
    throw new KafkaToolError('Cannot execute because there is an existing partition assignment.  Use --additional to override this and create a new partition assignment in addition to the existing one. The --additional flag can also be used to change the throttle by resubmitting the current reassignment.');
  }
  const topics = await currentAssignment(admin, moves.map((m) => m.topic));
  const current = moves.map((m) => ({ ...m, replicas: currentReplicas(topics, m) }));
  process.stdout.write(`Current partition replica assignment\n\n${formatReassignmentJson(current)}\n\nSave this to use as the --reassignment-json-file option during rollback\n`);
  if (throttle >= 0) {
    process.stdout.write('Warning: You must run --verify periodically, until the reassignment completes, to ensure the throttle is removed.\n');
    await setThrottles(admin, moves, current, throttle);
    process.stdout.write(`The inter-broker throttle limit was set to ${throttle} B/s\n`);
  }
  const results = await admin.alterPartitionReassignments(moves, { timeoutMs: args.int('timeout', 1) ?? 10_000 });
  const failed = results.filter((r) => r.error !== null);
  if (failed.length > 0) {
    throw new KafkaToolError(`Error reassigning partition(s):\n${failed.map((r) => `${tp(r)}: ${exceptionName(r.error!)}${r.message ? `: ${r.message}` : ''}`).join('\n')}`);
  }
  process.stdout.write(`Successfully started partition reassignment${moves.length === 1 ? '' : 's'} for ${moves.map(tp).join(',')}\n`);
}

/** Kafka's throttles: the rate on every broker involved; leaders' throttled replicas are the current ones, followers' the ones being added. */
async function setThrottles(admin: Admin, moves: Move[], current: Move[], rate: number): Promise<void> {
  const leader = new Map<string, string[]>();
  const follower = new Map<string, string[]>();
  const brokers = new Set<number>();
  moves.forEach((m, i) => {
    const before = current[i]!.replicas;
    for (const b of [...before, ...m.replicas]) brokers.add(b);
    leader.set(m.topic, [...(leader.get(m.topic) ?? []), ...before.map((b) => `${m.partition}:${b}`)]);
    follower.set(m.topic, [...(follower.get(m.topic) ?? []), ...m.replicas.filter((b) => !before.includes(b)).map((b) => `${m.partition}:${b}`)]);
  });
  await admin.incrementalAlterConfigs([
    ...[...leader.keys()].map((topic) => ({
      type: 'topic' as const,
      name: topic,
      ops: [
        { name: 'leader.replication.throttled.replicas', op: 'set' as const, value: leader.get(topic)!.join(',') },
        { name: 'follower.replication.throttled.replicas', op: 'set' as const, value: follower.get(topic)!.join(',') },
      ],
    })),
    ...[...brokers].sort((a, b) => a - b).map((id) => ({
      type: 'broker' as const,
      name: String(id),
      ops: ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'].map((name) => ({ name, op: 'set' as const, value: String(rate) })),
    })),
  ]);
}

async function clearThrottles(admin: Admin, topics: string[]): Promise<void> {
  const brokers = (await admin.describeCluster()).brokers.map((b) => b.nodeId);
  process.stdout.write(`Clearing broker-level throttles on broker${brokers.length === 1 ? '' : 's'} ${brokers.join(',')}\n`);
  await admin.incrementalAlterConfigs(brokers.map((id) => ({ type: 'broker' as const, name: String(id), ops: BROKER_RATES.map((name) => ({ name, op: 'delete' as const })) })));
  const unique = [...new Set(topics)];
  process.stdout.write(`Clearing topic-level throttles on topic${unique.length === 1 ? '' : 's'} ${unique.join(',')}\n`);
  await admin.incrementalAlterConfigs(unique.map((name) => ({ type: 'topic' as const, name, ops: TOPIC_THROTTLES.map((key) => ({ name: key, op: 'delete' as const })) })));
}

async function verify(admin: Admin, args: ParsedArgs): Promise<void> {
  const moves = parseReassignmentJson(readJson(requireOption(args, 'reassignment-json-file'), 'reassignment file'));
  const ongoing = new Set((await admin.listPartitionReassignments(moves)).map(tp));
  const topics = await currentAssignment(admin, moves.map((m) => m.topic));
  process.stdout.write('Status of partition reassignment:\n');
  for (const m of moves) {
    if (ongoing.has(tp(m))) {
      process.stdout.write(`Reassignment of partition ${tp(m)} is still in progress.\n`);
      continue;
    }
    const now = currentReplicas(topics, m);
    if (now.join(',') === m.replicas.join(',')) process.stdout.write(`Reassignment of partition ${tp(m)} is completed.\n`);
    else process.stdout.write(`There is no active reassignment of partition ${tp(m)}, but replica set is ${now.join(',')} rather than ${m.replicas.join(',')}.\n`);
  }
  if (ongoing.size === 0 && !args.has('preserve-throttles')) {
    process.stdout.write('\n');
    await clearThrottles(admin, moves.map((m) => m.topic));
  }
}

async function cancel(admin: Admin, args: ParsedArgs): Promise<void> {
  const moves = parseReassignmentJson(readJson(requireOption(args, 'reassignment-json-file'), 'reassignment file'));
  const results = await admin.alterPartitionReassignments(moves.map((m) => ({ topic: m.topic, partition: m.partition, replicas: null })));
  const failed = results.filter((r) => r.error !== null && r.error !== 'NO_REASSIGNMENT_IN_PROGRESS');
  if (failed.length > 0) throw new KafkaToolError(`Error cancelling partition reassignment(s):\n${failed.map((r) => `${tp(r)}: ${exceptionName(r.error!)}${r.message ? `: ${r.message}` : ''}`).join('\n')}`);
  const cancelled = results.filter((r) => r.error === null);
  if (cancelled.length === 0) process.stdout.write('None of the specified partition reassignments are active.\n');
  else process.stdout.write(`Successfully cancelled partition reassignment${cancelled.length === 1 ? '' : 's'} for: ${cancelled.map(tp).join(',')}\n`);
  if (!args.has('preserve-throttles')) await clearThrottles(admin, moves.map((m) => m.topic));
}

async function list(admin: Admin): Promise<void> {
  const ongoing = await admin.listPartitionReassignments();
  if (ongoing.length === 0) {
    process.stdout.write('No partition reassignments found.\n');
    return;
  }
  process.stdout.write('Current partition reassignments:\n');
  for (const r of ongoing) {
    process.stdout.write(`${tp(r)}: replicas: ${r.replicas.join(',')}. adding: ${r.addingReplicas.join(',')}. removing: ${r.removingReplicas.join(',')}.\n`);
  }
}

const tool: KafkaTool = {
  description: 'This tool helps to move topic partitions between replicas.',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED: the server(s) to use for bootstrapping.', metavar: 'String: Server(s) to use for bootstrapping' },
    'command-config': { arg: 'required', help: 'Property file containing configs to be passed to Admin Client.', metavar: 'String: Admin client property file' },
    generate: { arg: 'none', help: 'Generate a candidate partition reassignment configuration. Note that this only generates a candidate assignment, it does not execute it.' },
    execute: { arg: 'none', help: 'Kick off the reassignment as specified by the --reassignment-json-file option.' },
    verify: { arg: 'none', help: 'Verify if the reassignment completed as specified by the --reassignment-json-file option. If there is a throttle engaged for the replicas specified, and the rebalance has completed, the throttle will be removed' },
    cancel: { arg: 'none', help: 'Cancel an active reassignment.' },
    list: { arg: 'none', help: 'List all active partition reassignments.' },
    'reassignment-json-file': { arg: 'required', help: 'The JSON file with the partition reassignment configuration.', metavar: 'String: manual assignment json file path' },
    'topics-to-move-json-file': { arg: 'required', help: 'Generate a reassignment configuration to move the partitions of the specified topics to the list of brokers specified by the --broker-list option.', metavar: 'String: topics to reassign json file path' },
    'broker-list': { arg: 'required', help: 'The list of brokers to which the partitions need to be reassigned in the form "0,1,2". This is required if --topics-to-move-json-file is used to generate reassignment configuration', metavar: 'String: brokerlist' },
    'disable-rack-aware': { arg: 'none', help: 'Disable rack aware replica assignment' },
    throttle: { arg: 'required', help: 'The movement of partitions between brokers will be throttled to this value (bytes/sec). This option can be included with --execute when a reassignment is started, and it can be altered by resubmitting the current reassignment along with the --additional flag. The throttle rate should be at least 1 KB/s.', metavar: 'Long: throttle' },
    timeout: { arg: 'required', help: 'The maximum time in ms to wait for the reassignment to be accepted (default: 10000).', metavar: 'Long: timeout' },
    additional: { arg: 'none', help: 'Execute this reassignment in addition to any other ongoing ones. This option can also be used to change the throttle of an ongoing reassignment.' },
    'preserve-throttles': { arg: 'none', help: 'Do not modify broker or topic throttles.' },
  },
  async run(args) {
    const actions = ACTIONS.filter((a) => args.has(a));
    if (actions.length !== 1) throw new KafkaUsageError('Command must include exactly one action: --generate, --execute, --verify, --cancel, --list');
    const bootstrap = requireOption(args, 'bootstrap-server');
    const [action] = actions;
    if (action !== 'execute' && (args.has('throttle') || args.has('additional'))) throw new KafkaUsageError(`Option "[${args.has('throttle') ? 'throttle' : 'additional'}]" can't be used with action "[${action}]"`);
    if (action !== 'generate' && (args.has('topics-to-move-json-file') || args.has('broker-list'))) throw new KafkaUsageError(`Option "[${args.has('broker-list') ? 'broker-list' : 'topics-to-move-json-file'}]" can't be used with action "[${action}]"`);
    const props = args.has('command-config') ? readProperties(args.value('command-config')!) : {};
    await withAdmin(clientFlags(bootstrap, props), async (admin) => {
      switch (action) {
        case 'generate':
          return generate(admin, args);
        case 'execute':
          return execute(admin, args);
        case 'verify':
          return verify(admin, args);
        case 'cancel':
          return cancel(admin, args);
        default:
          return list(admin);
      }
    });
  },
  errorText: (message) => `Error: ${message}\n`,
};

export default tool;
