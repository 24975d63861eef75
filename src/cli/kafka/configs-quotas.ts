/**
 * kafka-configs.sh for client quotas: --entity-type users / clients / ips (or --user, --client, --ip and their
 * --*-defaults), --describe and --alter --add-config / --delete-config through DescribeClientQuotas /
 * AlterClientQuotas, printed as Kafka prints them ("Quota configs for user-principal 'alice' are
 * producer_byte_rate=1048576.0").
 */
import type { Admin, ClientQuotaEntity, ClientQuotaFilterComponent } from '../../client/admin.js';
import { formatQuotaValue, parseQuotaValues } from '../quotas.js';
import { KafkaToolError, KafkaUsageError, readProperties, type ParsedArgs } from './options.js';

const TYPES: Record<string, keyof ClientQuotaEntity> = { users: 'user', clients: 'client-id', ips: 'ip' };
const SHORTCUTS: Array<[string, string, keyof ClientQuotaEntity, string]> = [
  ['user', 'user-defaults', 'user', 'users'], ['client', 'client-defaults', 'client-id', 'clients'], ['ip', 'ip-defaults', 'ip', 'ips'],
];

export const QUOTA_OPTION_SPECS = {
  user: { arg: 'required', help: 'The user\'s principal name (--entity-type users --entity-name <user>).', metavar: 'String' },
  'user-defaults': { arg: 'none', help: 'The default user (--entity-type users --entity-default).' },
  client: { arg: 'required', help: 'The client id (--entity-type clients --entity-name <client-id>).', metavar: 'String' },
  'client-defaults': { arg: 'none', help: 'The default client id (--entity-type clients --entity-default).' },
  ip: { arg: 'required', help: 'The IP address (--entity-type ips --entity-name <ip>).', metavar: 'String' },
  'ip-defaults': { arg: 'none', help: 'The default IP (--entity-type ips --entity-default).' },
} as const;

/** Whether the command is about quotas: a quota entity type or shortcut is named. */
export function namesQuotaEntity(args: ParsedArgs): boolean {
  return args.values('entity-type').some((t) => t in TYPES) || SHORTCUTS.some(([n, d]) => args.has(n) || args.has(d));
}

/**
 * The entity (a name, null for the default, undefined for "any of this type" when describing) and the entity
 * types in the order given, whose first names the "Completed updating" line.
 */
function quotaEntity(args: ParsedArgs): { entity: Record<string, string | null | undefined>; types: string[] } {
  const entity: Record<string, string | null | undefined> = {};
  const types: string[] = [];
  const given = args.values('entity-type');
  for (const t of given) {
    if (!(t in TYPES)) throw new KafkaUsageError(`Invalid entity type ${t}: users, clients and ips can be combined only with each other`);
  }
  const names = args.values('entity-name');
  const dflt = args.has('entity-default');
  if (given.length > 0) {
    if (dflt && (given.length > 1 || names.length > 0)) throw new KafkaUsageError('--entity-default with several entity types: use --user-defaults / --client-defaults');
    if (names.length > given.length) throw new KafkaUsageError('More --entity-name than --entity-type options');
    given.forEach((t, i) => {
      types.push(t);
      entity[TYPES[t]!] = dflt ? null : names[i];
    });
  }
  for (const [name, defaults, key, type] of SHORTCUTS) {
    if (!args.has(name) && !args.has(defaults)) continue;
    if (key in entity) throw new KafkaUsageError(`The ${type} entity is named twice`);
    if (args.has(name) && args.has(defaults)) throw new KafkaUsageError(`--${name} and --${defaults} cannot be used together`);
    types.push(type);
    entity[key] = args.has(defaults) ? null : args.value(name);
  }
  if ('ip' in entity && ('user' in entity || 'client-id' in entity)) throw new KafkaUsageError('Only users and clients can be combined: an ip entity stands alone');
  return { entity, types };
}

function entityText(e: ClientQuotaEntity): string {
  const label: Record<string, string> = { user: 'user-principal', 'client-id': 'client-id', ip: 'ip' };
  return (['user', 'client-id', 'ip'] as const).filter((t) => t in e).map((t) => (e[t] === null || e[t] === undefined ? `the default ${label[t]}` : `${label[t]} '${e[t]}'`)).join(', ');
}

export async function runQuotaConfigs(admin: Admin, args: ParsedArgs): Promise<void> {
  const { entity, types } = quotaEntity(args);
  if (args.has('describe')) {
    const components: ClientQuotaFilterComponent[] = (Object.entries(entity) as Array<['user' | 'client-id' | 'ip', string | null | undefined]>)
      .map(([entityType, name]) => (name === undefined ? { entityType } : name === null ? { entityType, default: true as const } : { entityType, match: name }));
    const entries = await admin.describeClientQuotas(components, { strict: true });
    let out = '';
    for (const q of entries) {
      const values = Object.entries(q.values).map(([k, v]) => `${k}=${formatQuotaValue(v)}`).join(', ');
      out += `Quota configs for ${entityText(q.entity)} are ${values}\n`;
    }
    process.stdout.write(out);
    return;
  }
  for (const [key, name] of Object.entries(entity)) {
    if (name === undefined) throw new KafkaUsageError(`An entity name must be specified with --alter of ${types[Object.keys(entity).indexOf(key)]}`);
  }
  const set: Record<string, number> = {};
  const fail = (m: string): Error => new KafkaUsageError(m);
  for (const file of args.values('add-config-file')) {
    for (const [k, v] of Object.entries(readProperties(file))) Object.assign(set, parseQuotaValues(`${k}=${v}`, fail));
  }
  for (const text of args.values('add-config')) Object.assign(set, parseQuotaValues(text, fail));
  const remove = args.values('delete-config').flatMap((t) => t.split(',')).map((k) => k.trim()).filter(Boolean);
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new KafkaUsageError('At least one of --add-config, --add-config-file or --delete-config must be specified with --alter');
  }
  const both = remove.filter((k) => k in set);
  if (both.length > 0) throw new KafkaUsageError(`Config(s) ${both.join(',')} are both added and deleted`);
  const e = entity as ClientQuotaEntity;
  const ops = [...Object.entries(set).map(([key, value]) => ({ key, value })), ...remove.map((key) => ({ key, value: null }))];
  const [result] = await admin.alterClientQuotas([{ entity: e, ops }]);
  if (result?.error) throw new KafkaToolError(result.error.message);
  const head = types[0]!;
  const headName = e[TYPES[head]!];
  process.stdout.write(headName === null || headName === undefined
    ? `Completed updating default config for ${head} in the cluster.\n`
    : `Completed updating config for ${head.slice(0, -1)} ${headName}.\n`);
}
