/**
 * kafka-topics.sh: --list, --describe, --create, --alter (--partitions) and --delete, with Kafka's
 * flags and output. --topic is a regular expression for --list, --describe, --alter and --delete (a
 * whole-name match, as Kafka's); a named topic that matches nothing is an error unless --if-exists.
 */
import type { Admin, TopicDescription } from '../../client/admin.js';
import { isKafkaError, withAdmin } from '../topics-common.js';
import { formatTopicDescription } from '../topics-describe.js';
import {
  checkInvalid, clientFlags, KafkaToolError, KafkaUsageError, readProperties, refuseZookeeper, requireOption, ZOOKEEPER_OPTION,
  type KafkaTool, type ParsedArgs,
} from './options.js';

const ACTIONS = ['list', 'describe', 'create', 'alter', 'delete'];
const PARTITION_FILTERS = ['under-replicated-partitions', 'unavailable-partitions', 'under-min-isr-partitions', 'at-min-isr-partitions'];

/** A whole-name match of Kafka's --topic pattern (a name that is not a valid pattern matches itself only). */
export function topicMatcher(pattern: string | undefined): (name: string) => boolean {
  if (pattern === undefined) return () => true;
  try {
    const re = new RegExp(`^(?:${pattern})$`);
    return (name) => name === pattern || re.test(name);
  } catch {
    return (name) => name === pattern;
  }
}

async function matchingTopics(admin: Admin, args: ParsedArgs, includeInternal: boolean): Promise<string[]> {
  const pattern = args.value('topic');
  const match = topicMatcher(pattern);
  const names = (await admin.listTopics({ includeInternal })).filter(match);
  // Kafka: a named topic that is not there is an error, unless --if-exists.
  if (pattern !== undefined && names.length === 0 && !args.has('if-exists')) throw new KafkaToolError(`Topic '${pattern}' does not exist as expected`);
  return names;
}

async function create(admin: Admin, args: ParsedArgs): Promise<void> {
  const topic = requireOption(args, 'topic');
  const configs: Record<string, string> = {};
  for (const c of args.values('config')) {
    const i = c.indexOf('=');
    if (i <= 0) throw new KafkaUsageError(`Invalid topic config: all configs to be added must be in the format "key=val", got '${c}'`);
    configs[c.slice(0, i).trim()] = c.slice(i + 1).trim();
  }
  if (args.has('replica-assignment')) throw new KafkaToolError('--replica-assignment is not supported: Tributary places replicas itself (use --partitions and --replication-factor)');
  if (/[._]/.test(topic)) {
    process.stdout.write("WARNING: Due to limitations in metric names, topics with a period ('.') or underscore ('_') could collide. To avoid issues it is best to use either, but not both.\n");
  }
  try {
    await admin.createTopics([{ name: topic, numPartitions: args.int('partitions', 1), replicationFactor: args.int('replication-factor', 1), configs }]);
  } catch (err) {
    if (isKafkaError(err, 'TOPIC_ALREADY_EXISTS')) {
      if (args.has('if-not-exists')) return;
      throw new KafkaToolError(`Topic '${topic}' already exists.`);
    }
    throw err;
  }
  process.stdout.write(`Created topic ${topic}.\n`);
}

async function describe(admin: Admin, args: ParsedArgs): Promise<void> {
  const names = await matchingTopics(admin, args, !args.has('exclude-internal'));
  if (names.length === 0) return;
  const described = await admin.describeTopics(names);
  const configs = await admin.describeConfigs(described.map((t) => ({ type: 'topic' as const, name: t.name })));
  const filter = PARTITION_FILTERS.find((f) => args.has(f));
  let out = '';
  described.forEach((t, i) => {
    const overrides = configs[i].configs.filter((c) => !c.isDefault);
    const minIsr = Number(configs[i].configs.find((c) => c.name === 'min.insync.replicas')?.value ?? '1');
    if (args.has('topics-with-overrides')) {
      if (overrides.length > 0) out += formatTopicDescription({ ...t, partitions: [] }, overrides);
      return;
    }
    if (filter === undefined) {
      out += formatTopicDescription(t, overrides);
      return;
    }
    // A partition filter prints only the partitions it selects, without the topic's line (as Kafka).
    const selected = t.partitions.filter((p) => partitionSelected(filter, p, minIsr));
    if (selected.length > 0) out += formatTopicDescription({ ...t, partitions: selected }, overrides).split('\n').slice(1).join('\n');
  });
  process.stdout.write(out);
}

/** Kafka's partition filters: the ISR against the replica list or the topic's min.insync.replicas, the leader's liveness. */
export function partitionSelected(filter: string, p: TopicDescription['partitions'][number], minIsr: number): boolean {
  switch (filter) {
    case 'under-replicated-partitions':
      return p.isr.length < p.replicas.length;
    case 'unavailable-partitions':
      return p.leader < 0 || p.offlineReplicas.includes(p.leader);
    case 'under-min-isr-partitions':
      return p.leader < 0 || p.isr.length < minIsr;
    default:
      return p.leader >= 0 && p.isr.length === minIsr;
  }
}

async function alter(admin: Admin, args: ParsedArgs): Promise<void> {
  if (args.has('config') || args.has('delete-config')) {
    throw new KafkaUsageError('Topic configs are changed with kafka-configs.sh --entity-type topics --entity-name <topic> --alter --add-config k=v (kafka-topics.sh --alter takes --partitions only)');
  }
  const partitions = args.int('partitions', 1);
  if (partitions === undefined) throw new KafkaUsageError('--alter needs --partitions <new total>');
  if (args.has('replica-assignment')) throw new KafkaToolError('--replica-assignment is not supported: Tributary places replicas itself');
  const names = await matchingTopics(admin, args, false);
  if (names.length > 0) await admin.createPartitions(names.map((topic) => ({ topic, count: partitions })));
}

async function remove(admin: Admin, args: ParsedArgs): Promise<void> {
  const names = await matchingTopics(admin, args, true);
  const described = names.length > 0 ? await admin.describeTopics(names) : [];
  const internal = described.find((t) => t.isInternal);
  if (internal) throw new KafkaToolError(`Topic ${internal.name} is a kafka internal topic and is not allowed to be marked for deletion.`);
  if (names.length > 0) await admin.deleteTopics(names);
}

const tool: KafkaTool = {
  description: 'Create, delete, describe, or change a topic.',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED: The Kafka server to connect to.', metavar: 'String: server to connect to' },
    'command-config': { arg: 'required', help: 'Property file containing configs to be passed to Admin Client.', metavar: 'String: command config property file' },
    list: { arg: 'none', help: 'List all available topics.' },
    describe: { arg: 'none', help: 'List details for the given topics.' },
    create: { arg: 'none', help: 'Create a new topic.' },
    alter: { arg: 'none', help: 'Alter the number of partitions of the topic.' },
    delete: { arg: 'none', help: 'Delete a topic.' },
    topic: { arg: 'required', help: 'The topic to create, alter, describe or delete. Except for --create, a regular expression.', metavar: 'String: topic' },
    partitions: { arg: 'required', help: 'The number of partitions for the topic being created or altered (default: the broker\'s num.partitions).', metavar: 'Integer: # of partitions' },
    'replication-factor': { arg: 'required', help: 'The replication factor for each partition in the topic being created (default: the broker\'s default.replication.factor).', metavar: 'Integer: replication factor' },
    config: { arg: 'required', help: 'A topic configuration override for the topic being created (repeatable).', metavar: 'String: name=value' },
    'delete-config': { arg: 'required', help: 'Not supported: use kafka-configs.sh --alter --delete-config.', metavar: 'String: name' },
    'replica-assignment': { arg: 'required', help: 'Not supported: Tributary places replicas itself.', metavar: 'String' },
    'if-exists': { arg: 'none', help: 'If set when altering, deleting or describing topics, the action only runs if the topic exists.' },
    'if-not-exists': { arg: 'none', help: 'If set when creating topics, the action only runs if the topic does not already exist.' },
    'exclude-internal': { arg: 'none', help: 'Exclude internal topics when running list or describe command.' },
    'topics-with-overrides': { arg: 'none', help: 'If set when describing topics, only show topics that have overridden configs.' },
    'under-replicated-partitions': { arg: 'none', help: 'If set when describing topics, only show under-replicated partitions.' },
    'unavailable-partitions': { arg: 'none', help: 'If set when describing topics, only show partitions whose leader is not available.' },
    'under-min-isr-partitions': { arg: 'none', help: 'If set when describing topics, only show partitions whose ISR count is less than min.insync.replicas.' },
    'at-min-isr-partitions': { arg: 'none', help: 'If set when describing topics, only show partitions whose ISR count is equal to min.insync.replicas.' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  async run(args) {
    refuseZookeeper(args);
    const actions = ACTIONS.filter((a) => args.has(a));
    if (actions.length !== 1) throw new KafkaUsageError('Command must include exactly one action: --list, --describe, --create, --alter or --delete');
    const [action] = actions;
    if (action !== 'list' && !args.has('topic') && action !== 'describe') throw new KafkaUsageError(`Missing required argument "[topic]"`);
    checkInvalid(args, 'partitions', ['describe', 'list', 'delete']);
    checkInvalid(args, 'replication-factor', ['describe', 'list', 'delete', 'alter']);
    checkInvalid(args, 'if-not-exists', ['alter', 'delete', 'describe', 'list']);
    checkInvalid(args, 'if-exists', ['create', 'list']);
    checkInvalid(args, 'config', ['describe', 'list', 'delete']);
    const props = args.has('command-config') ? readProperties(args.value('command-config')!) : {};
    await withAdmin(clientFlags(args.value('bootstrap-server'), props), async (admin) => {
      switch (action) {
        case 'list': {
          const names = await matchingTopics(admin, args, !args.has('exclude-internal')).catch((err: unknown) => {
            if (err instanceof KafkaToolError) return [];
            throw err;
          });
          if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
          return;
        }
        case 'describe':
          return describe(admin, args);
        case 'create':
          return create(admin, args);
        case 'alter':
          return alter(admin, args);
        default:
          return remove(admin, args);
      }
    });
  },
  errorText: (message) => `Error while executing topic command : ${message}\n`,
};

export default tool;
