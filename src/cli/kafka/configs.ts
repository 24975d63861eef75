/**
 * kafka-configs.sh for topics, brokers and groups: --describe (dynamic configs, or every config with --all)
 * and --alter --add-config / --delete-config through IncrementalAlterConfigs, with Kafka's output.
 * A broker is named by its id (--entity-name 1, --broker 1); --entity-default (--broker-defaults)
 * is the cluster-wide default, the empty resource name on the wire. A group (--entity-type groups,
 * --group) has the KIP-848 consumer.* settings. Users, clients and ips (client quotas) are handled by
 * configs-quotas.ts; broker-loggers and client-metrics are refused.
 */
import type { Admin, ConfigEntry, ConfigResourceType } from '../../client/admin.js';
import { withAdmin } from '../topics-common.js';
import {
  clientFlags, KafkaToolError, KafkaUsageError, readProperties, refuseZookeeper, ZOOKEEPER_OPTION, type KafkaTool, type ParsedArgs,
} from './options.js';
import { namesQuotaEntity, QUOTA_OPTION_SPECS, runQuotaConfigs } from './configs-quotas.js';

interface Entity {
  type: ConfigResourceType;
  /** A topic name, a broker id, '' for the brokers' default, or a group id. */
  name: string;
}

const ENTITY_TYPES: Record<string, ConfigResourceType> = { topics: 'topic', brokers: 'broker', groups: 'group' };
const UNSUPPORTED_TYPES = ['broker-loggers', 'client-metrics'];
const SUPPORTED = 'topics, brokers, groups, users, clients and ips';

/**
 * --add-config's list: `k1=v1,k2=[v2a,v2b]` (square brackets keep commas inside one value), as Kafka
 * parses it.
 */
export function parseConfigList(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new KafkaUsageError(`Invalid config(s): ${text.slice(i)} (expected key=value, comma-separated)`);
    const key = text.slice(i, eq).trim();
    let value: string;
    let next: number;
    if (text[eq + 1] === '[') {
      const close = text.indexOf(']', eq + 2);
      if (close < 0) throw new KafkaUsageError(`Invalid config value for ${key}: missing ']'`);
      value = text.slice(eq + 2, close);
      next = text.indexOf(',', close);
    } else {
      next = text.indexOf(',', eq + 1);
      value = text.slice(eq + 1, next < 0 ? undefined : next);
    }
    if (key === '') throw new KafkaUsageError(`Invalid config(s): empty key in '${text}'`);
    out[key] = value.trim();
    if (next < 0) break;
    i = next + 1;
  }
  return out;
}

/** The entities the command names: --entity-type/--entity-name pairs, or the --topic/--broker shortcuts. */
function entities(args: ParsedArgs): { type: ConfigResourceType; names: string[] | null } {
  const shortcuts: Array<[string, ConfigResourceType]> = [['topic', 'topic'], ['broker', 'broker'], ['group', 'group']];
  const types: ConfigResourceType[] = [];
  const names: string[] = [];
  for (const t of args.values('entity-type')) {
    if (UNSUPPORTED_TYPES.includes(t)) throw new KafkaToolError(`--entity-type ${t} is not supported: Tributary's kafka-configs.sh changes ${SUPPORTED} only`);
    const type = ENTITY_TYPES[t];
    if (type === undefined) throw new KafkaUsageError(`Invalid entity type ${t}, the entity type must be one of topics, brokers, groups, users, clients, ips`);
    types.push(type);
  }
  names.push(...args.values('entity-name'));
  for (const [option, type] of shortcuts) {
    for (const v of args.values(option)) {
      types.push(type);
      names.push(v);
    }
  }
  if (args.has('broker-defaults')) types.push('broker');
  if (args.has('entity-default') || args.has('broker-defaults')) names.push('');
  if (types.length === 0) throw new KafkaUsageError('Missing required argument "[entity-type]"');
  if (new Set(types).size > 1) throw new KafkaUsageError('Only one entity type can be given: topics, brokers or groups');
  const type = types[0];
  if (names.length > 1) throw new KafkaUsageError('Only one entity name (or --entity-default) can be given');
  if (type !== 'broker' && names[0] === '') throw new KafkaUsageError('--entity-default applies to brokers only');
  if (type === 'broker' && names.length === 1 && names[0] !== '' && !/^\d+$/.test(names[0])) {
    throw new KafkaUsageError(`The entity name for brokers must be a valid integer broker id, but it is: ${names[0]}`);
  }
  return { type, names: names.length === 0 ? null : names };
}

function label(e: Entity): string {
  return `${e.type} ${e.name}`;
}

/** `  name=value sensitive=false synonyms={SOURCE:name=value}` (a sensitive value prints as null). */
function configLine(c: ConfigEntry): string {
  const value = c.sensitive ? null : c.value;
  return `  ${c.name}=${value} sensitive=${c.sensitive} synonyms={${c.source}:${c.name}=${value}}`;
}

async function describe(admin: Admin, args: ParsedArgs, type: ConfigResourceType, names: string[] | null): Promise<void> {
  let list: Entity[];
  if (names !== null) {
    list = names.map((name) => ({ type, name }));
  } else if (type === 'topic') {
    list = (await admin.listTopics({ includeInternal: true })).map((name) => ({ type, name }));
  } else if (type === 'group') {
    list = (await admin.listGroups()).map((g) => ({ type, name: g.groupId }));
  } else {
    // Every broker, then the cluster default (as Kafka lists them).
    list = [...(await admin.describeCluster()).brokers.map((b) => ({ type, name: String(b.nodeId) })), { type, name: '' }];
  }
  const all = args.has('all');
  if (all && list.some((e) => e.type === 'broker' && e.name === '')) {
    if (names !== null) throw new KafkaUsageError('--all cannot be used with --entity-default');
    list = list.filter((e) => e.name !== '');
  }
  if (list.length === 0) return;
  const described = await admin.describeConfigs(list);
  let out = '';
  described.forEach((d, i) => {
    const e = list[i];
    const dynamicSource = e.type === 'topic' ? 'DYNAMIC_TOPIC_CONFIG' : e.type === 'group' ? 'GROUP_CONFIG'
      : e.name === '' ? 'DYNAMIC_DEFAULT_BROKER_CONFIG' : 'DYNAMIC_BROKER_CONFIG';
    const entries = all ? d.configs : d.configs.filter((c) => c.source === dynamicSource);
    const head = e.name === '' ? 'Default configs for brokers in the cluster are:' : `${all ? 'All' : 'Dynamic'} configs for ${label(e)} are:`;
    out += [head, ...[...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(configLine)].join('\n') + '\n';
  });
  process.stdout.write(out);
}

async function alter(admin: Admin, args: ParsedArgs, type: ConfigResourceType, names: string[] | null): Promise<void> {
  if (names === null) throw new KafkaUsageError(`An entity name must be specified with --alter of ${type}s`);
  const set: Record<string, string> = {};
  for (const file of args.values('add-config-file')) Object.assign(set, readProperties(file));
  for (const text of args.values('add-config')) Object.assign(set, parseConfigList(text));
  const remove = args.values('delete-config').flatMap((t) => t.split(',')).map((k) => k.trim()).filter(Boolean);
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new KafkaUsageError('At least one of --add-config, --add-config-file or --delete-config must be specified with --alter');
  }
  const both = remove.filter((k) => k in set);
  if (both.length > 0) throw new KafkaUsageError(`Config(s) ${both.join(',')} are both added and deleted`);
  const entity: Entity = { type, name: names[0] };
  if (remove.length > 0) {
    // Kafka refuses to delete a key the entity does not have (a typo would otherwise pass silently).
    const [current] = await admin.describeConfigs([entity]);
    const known = new Set(current.configs.map((c) => c.name));
    const invalid = remove.filter((k) => !known.has(k));
    if (invalid.length > 0) throw new KafkaToolError(`Invalid config(s): ${invalid.join(',')}`);
  }
  await admin.alterConfigs([{ ...entity, set, delete: remove }]);
  process.stdout.write(entity.name === '' ? 'Completed updating default config for brokers in the cluster.\n' : `Completed updating config for ${label(entity)}.\n`);
}

const tool: KafkaTool = {
  description: 'Change or describe topic, broker and group configs and client quotas (--entity-type topics, brokers, groups, users, clients, ips).',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'The Kafka server to connect to. REQUIRED.', metavar: 'String: server to connect to' },
    'bootstrap-controller': { arg: 'required', help: 'Not supported: use --bootstrap-server.', metavar: 'String' },
    'command-config': { arg: 'required', help: 'Property file containing configs to be passed to Admin Client.', metavar: 'String: command config property file' },
    describe: { arg: 'none', help: 'List configs for the given entity.' },
    alter: { arg: 'none', help: 'Alter the configuration for the entity.' },
    'entity-type': { arg: 'required', help: 'Type of entity (topics/brokers/groups/users/clients/ips).', metavar: 'String' },
    'entity-name': { arg: 'required', help: 'Name of entity (topic name/broker id/group id/user principal name/client id/ip).', metavar: 'String' },
    'entity-default': { arg: 'none', help: 'Default entity name for brokers, users, clients or ips (applies to corresponding entity type).' },
    topic: { arg: 'required', help: 'The topic\'s name (--entity-type topics --entity-name <topic>).', metavar: 'String' },
    broker: { arg: 'required', help: 'The broker\'s id (--entity-type brokers --entity-name <id>).', metavar: 'String' },
    'broker-defaults': { arg: 'none', help: 'The config defaults for all brokers (--entity-type brokers --entity-default).' },
    'add-config': { arg: 'required', help: 'Key Value pairs of configs to add, comma-separated; square brackets group values that contain commas: k1=v1,k2=[v1,v2,v2],k3=v3.', metavar: 'String' },
    'add-config-file': { arg: 'required', help: 'Path to a properties file with configs to add.', metavar: 'String' },
    'delete-config': { arg: 'required', help: 'Config keys to remove: \'k1,k2\'.', metavar: 'String' },
    all: { arg: 'none', help: 'List all configs for the given topic or broker, including defaults.' },
    force: { arg: 'none', help: 'Accepted and ignored.' },
    ...QUOTA_OPTION_SPECS,
    group: { arg: 'required', help: 'The group\'s id (--entity-type groups --entity-name <group>).', metavar: 'String' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  async run(args) {
    refuseZookeeper(args);
    if (args.has('bootstrap-controller')) throw new KafkaToolError('--bootstrap-controller is not supported: Tributary has no separate controllers, use --bootstrap-server');
    if (args.has('describe') === args.has('alter')) throw new KafkaUsageError('Command must include exactly one action: --describe, --alter');
    const props = args.has('command-config') ? readProperties(args.value('command-config')!) : {};
    if (namesQuotaEntity(args)) {
      await withAdmin(clientFlags(args.value('bootstrap-server'), props), (admin) => runQuotaConfigs(admin, args));
      return;
    }
    const { type, names } = entities(args);
    await withAdmin(clientFlags(args.value('bootstrap-server'), props), (admin) => (args.has('describe') ? describe(admin, args, type, names) : alter(admin, args, type, names)));
  },
  errorText: (message, argv) => `Error while executing config command with args '${argv.join(' ')}'\n${message}\n`,
};

export default tool;
