/**
 * `tributary quotas alter|describe`: client quotas (kafka-configs.sh --entity-type users/clients/ips) through
 * AlterClientQuotas / DescribeClientQuotas. An entity is a user, a client id, both, or an IP; `--user-defaults`,
 * `--client-defaults`, `--ip-defaults` name the `<default>` entity of that type.
 */
import type { Command } from 'commander';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { collectList, withAdmin } from './topics-common.js';
import { formatTable } from '../util/format-table.js';
import type { ClientQuotaEntity, ClientQuotaFilterComponent } from '../client/admin.js';

/** `k1=v1,k2=v2` with numeric values (Kafka's quota keys are numbers). */
export function parseQuotaValues(text: string, fail: (message: string) => Error = (m) => new UsageError(m)): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw fail(`Invalid quota config '${part}' (expected key=value, e.g. producer_byte_rate=1048576)`);
    const key = part.slice(0, eq).trim();
    const raw = part.slice(eq + 1).trim();
    const value = Number(raw);
    if (raw === '' || !Number.isFinite(value)) throw fail(`Invalid value '${raw}' for quota ${key}: expected a number`);
    out[key] = value;
  }
  return out;
}

/** A quota value as Kafka's tools print it (Java's Double.toString for whole numbers: 1024.0). */
export function formatQuotaValue(v: number): string {
  return Number.isInteger(v) && Math.abs(v) < 1e7 ? `${v}.0` : String(v);
}

interface EntityFlags extends ClientFlags {
  user?: string;
  userDefaults?: boolean;
  clientId?: string;
  clientDefaults?: boolean;
  ip?: string;
  ipDefaults?: boolean;
}

interface AlterFlags extends EntityFlags {
  addConfig: string[];
  deleteConfig: string[];
  validateOnly?: boolean;
}

function entityOf(opts: EntityFlags): ClientQuotaEntity {
  const e: ClientQuotaEntity = {};
  const pick = (name: string, value: string | undefined, isDefault: boolean | undefined, key: keyof ClientQuotaEntity): void => {
    if (value !== undefined && isDefault) throw new UsageError(`give --${name} or --${name}-defaults, not both`);
    if (value !== undefined) e[key] = value;
    else if (isDefault) e[key] = null;
  };
  pick('user', opts.user, opts.userDefaults, 'user');
  pick('client-id', opts.clientId, opts.clientDefaults, 'client-id');
  pick('ip', opts.ip, opts.ipDefaults, 'ip');
  if ('ip' in e && ('user' in e || 'client-id' in e)) throw new UsageError('an IP entity cannot be combined with --user or --client-id');
  return e;
}

function addEntityFlags(cmd: Command): Command {
  return cmd
    .option('-u, --user <name>', 'the user (principal name, e.g. alice for User:alice)')
    .option('--user-defaults', 'the default user entity (every user without its own quota)')
    .option('-c, --client-id <id>', 'the client id')
    .option('--client-defaults', 'the default client-id entity')
    .option('--ip <address>', 'an IP address (connection_creation_rate only)')
    .option('--ip-defaults', 'the default IP entity');
}

export function entityLabel(e: ClientQuotaEntity): string {
  const parts: string[] = [];
  if ('user' in e) parts.push(`user ${e.user ?? '<default>'}`);
  if ('client-id' in e) parts.push(`client-id ${e['client-id'] ?? '<default>'}`);
  if ('ip' in e) parts.push(`ip ${e.ip ?? '<default>'}`);
  return parts.join(', ');
}

export function registerQuotas(program: Command): void {
  const quotas = program.command('quotas').description('Set and show client quotas (byte rates, request percentage, controller mutation rate)');
  quotas.addHelpText('after', `
Keys: producer_byte_rate, consumer_byte_rate (bytes/s per broker), request_percentage (% of one thread),
controller_mutation_rate (partitions created/deleted per s); connection_creation_rate for --ip entities.
The most specific entity applies: user+client-id, then user, then the defaults, then client-id.

Examples:
  $ tributary quotas alter --user alice --add-config producer_byte_rate=1048576
  $ tributary quotas alter --user alice --client-id app --add-config producer_byte_rate=1048576,consumer_byte_rate=2097152
  $ tributary quotas alter --user-defaults --add-config request_percentage=50
  $ tributary quotas alter --user alice --delete-config producer_byte_rate
  $ tributary quotas describe
  $ tributary quotas describe --user alice`);

  const alter = addEntityFlags(quotas
    .command('alter')
    .description('Set (--add-config) or remove (--delete-config) quota keys on one entity'))
    .option('--add-config <k=v,...>', 'quota keys to set, comma-separated (repeatable)', collectList, [])
    .option('--delete-config <k,...>', 'quota keys to remove, comma-separated (repeatable)', collectList, [])
    .option('--validate-only', 'check the change without applying it');
  addClientFlags(alter).action(action(async (opts: AlterFlags) => {
    const entity = entityOf(opts);
    if (Object.keys(entity).length === 0) throw new UsageError('name an entity: --user, --client-id, --ip or their --*-defaults');
    const set: Record<string, number> = {};
    for (const text of opts.addConfig) Object.assign(set, parseQuotaValues(text));
    const remove = opts.deleteConfig.flatMap((t) => t.split(',')).map((k) => k.trim()).filter(Boolean);
    if (Object.keys(set).length === 0 && remove.length === 0) throw new UsageError('give --add-config and/or --delete-config');
    const both = remove.filter((k) => k in set);
    if (both.length > 0) throw new UsageError(`quota(s) ${both.join(',')} are both added and deleted`);
    const ops = [...Object.entries(set).map(([key, value]) => ({ key, value })), ...remove.map((key) => ({ key, value: null }))];
    const [result] = await withAdmin(opts, (admin) => admin.alterClientQuotas([{ entity, ops }], { validateOnly: opts.validateOnly ?? false }));
    if (result?.error) throw result.error;
    process.stdout.write(`${opts.validateOnly ? 'Validated' : 'Updated'} quotas for ${entityLabel(entity)}.\n`);
  }));

  const describe = addEntityFlags(quotas
    .command('describe')
    .description('Show quotas: every entity, or those naming the given user / client id / ip (exactly those types with --strict)'))
    .option('--strict', 'only entities with exactly the given entity types');
  addClientFlags(describe).action(action(async (opts: EntityFlags & { strict?: boolean }) => {
    const entity = entityOf(opts);
    const components: ClientQuotaFilterComponent[] = (Object.entries(entity) as Array<['user' | 'client-id' | 'ip', string | null]>)
      .map(([entityType, name]) => (name === null ? { entityType, default: true as const } : { entityType, match: name }));
    const entries = await withAdmin(opts, (admin) => admin.describeClientQuotas(components, { strict: opts.strict ?? false }));
    const show = (e: ClientQuotaEntity, k: keyof ClientQuotaEntity): string => (k in e ? e[k] ?? '<default>' : '');
    const rows = entries.flatMap((q) => Object.entries(q.values).map(([key, value]) => [show(q.entity, 'user'), show(q.entity, 'client-id'), show(q.entity, 'ip'), key, value]));
    process.stdout.write(`${formatTable(['USER', 'CLIENT-ID', 'IP', 'QUOTA', 'VALUE'], rows)}\n`);
  }));
}
