/**
 * Group configs: the GROUP config resource (type 32) of DescribeConfigs / IncrementalAlterConfigs /
 * AlterConfigs, Kafka's GroupConfig for consumer groups. Keys and their broker defaults:
 *   consumer.session.timeout.ms    ← group.consumer.session.timeout.ms
 *   consumer.heartbeat.interval.ms ← group.consumer.heartbeat.interval.ms
 * Validation as Kafka's: unknown names are INVALID_CONFIG; each value an int ≥ 1 within the broker's
 * group.consumer.{min,max}.{session.timeout,heartbeat.interval}.ms; the session timeout greater than the
 * heartbeat interval (defaults filled in). A group's configs may exist before the group does.
 *
 * On disk: `group-configs.json` in the data directory, `{ "version": 1, "groups": { id: { key: value } } }`,
 * replaced atomically (write a temp file, fsync, rename). The consumer-group coordinator reads the
 * overrides through `overrides(groupId)` on every heartbeat, so a change applies from the next one.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { KafkaError } from '../errors.js';
import type { ConfigListing } from './config-listing.js';

export const RESOURCE_GROUP = 32;

export const CONSUMER_SESSION_TIMEOUT_MS = 'consumer.session.timeout.ms';
export const CONSUMER_HEARTBEAT_INTERVAL_MS = 'consumer.heartbeat.interval.ms';

/** Group key → the broker key that supplies its default. */
const GROUP_CONFIG_DEFAULTS: Readonly<Record<string, string>> = {
  [CONSUMER_HEARTBEAT_INTERVAL_MS]: 'group.consumer.heartbeat.interval.ms',
  [CONSUMER_SESSION_TIMEOUT_MS]: 'group.consumer.session.timeout.ms',
};

const FILE = 'group-configs.json';
const SOURCE_DYNAMIC_GROUP = 8; // ConfigSource.GROUP_CONFIG
const SOURCE_DEFAULT = 5;
const TYPE_INT = 3;


export class GroupConfigManager {
  private readonly groups = new Map<string, Record<string, string>>();

  constructor(private readonly broker: ReadonlyMap<string, string>, private readonly dataDir: string | null) {
    if (dataDir === null) return;
    let text: string;
    try {
      text = readFileSync(join(dataDir, FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const parsed = JSON.parse(text) as { groups?: Record<string, Record<string, string>> };
    for (const [groupId, config] of Object.entries(parsed.groups ?? {})) this.groups.set(groupId, { ...config });
  }

  static names(): string[] {
    return Object.keys(GROUP_CONFIG_DEFAULTS).sort();
  }

  /** The group's explicit overrides as numbers, for the coordinator. */
  overrides(groupId: string): { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } {
    const c = this.groups.get(groupId);
    if (!c) return {};
    const out: { sessionTimeoutMs?: number; heartbeatIntervalMs?: number } = {};
    if (c[CONSUMER_SESSION_TIMEOUT_MS] !== undefined) out.sessionTimeoutMs = Number(c[CONSUMER_SESSION_TIMEOUT_MS]);
    if (c[CONSUMER_HEARTBEAT_INTERVAL_MS] !== undefined) out.heartbeatIntervalMs = Number(c[CONSUMER_HEARTBEAT_INTERVAL_MS]);
    return out;
  }

  /** A copy of the group's explicit overrides (empty when none). */
  get(groupId: string): Record<string, string> {
    return { ...(this.groups.get(groupId) ?? {}) };
  }

  /** DescribeConfigs entries: every group key (or those asked for), explicit or the broker's default. */
  describe(groupId: string, keys: readonly string[] | null, synonyms: boolean): ConfigListing[] {
    const own = this.groups.get(groupId) ?? {};
    const out: ConfigListing[] = [];
    for (const name of keys ?? GroupConfigManager.names()) {
      const brokerKey = GROUP_CONFIG_DEFAULTS[name];
      if (brokerKey === undefined) continue;
      const explicit = own[name];
      const brokerValue = this.broker.get(brokerKey) ?? null;
      const syn = [];
      if (explicit !== undefined) syn.push({ name, value: explicit, source: SOURCE_DYNAMIC_GROUP });
      syn.push({ name: brokerKey, value: brokerValue, source: SOURCE_DEFAULT });
      out.push({
        name, value: explicit ?? brokerValue, readOnly: false, isDefault: explicit === undefined,
        configSource: explicit === undefined ? SOURCE_DEFAULT : SOURCE_DYNAMIC_GROUP,
        isSensitive: false, configType: TYPE_INT, synonyms: synonyms ? syn : [], documentation: null,
      });
    }
    return out;
  }

  /** Throws INVALID_CONFIG (Kafka's messages) unless `config` is a valid complete set of overrides. */
  validate(config: Readonly<Record<string, string>>): void {
    for (const name of Object.keys(config)) {
      if (GROUP_CONFIG_DEFAULTS[name] === undefined) throw new KafkaError('INVALID_CONFIG', `Unknown group config name: ${name}`);
    }
    const value = (name: string): number => {
      const raw = config[name] ?? this.broker.get(GROUP_CONFIG_DEFAULTS[name]!) ?? '';
      const n = Number(raw.trim());
      if (raw.trim() === '' || !Number.isInteger(n) || n < -2147483648 || n > 2147483647) {
        throw new KafkaError('INVALID_CONFIG', `Invalid value ${raw} for configuration ${name}: Not a number of type INT`);
      }
      if (n < 1) throw new KafkaError('INVALID_CONFIG', `Invalid value ${raw} for configuration ${name}: Value must be at least 1`);
      return n;
    };
    const bound = (key: string): number => Number(this.broker.get(key));
    const heartbeat = value(CONSUMER_HEARTBEAT_INTERVAL_MS);
    const session = value(CONSUMER_SESSION_TIMEOUT_MS);
    const check = (ok: boolean, message: string): void => {
      if (!ok) throw new KafkaError('INVALID_CONFIG', message);
    };
    check(heartbeat >= bound('group.consumer.min.heartbeat.interval.ms'), `${CONSUMER_HEARTBEAT_INTERVAL_MS} must be greater than or equal to group.consumer.min.heartbeat.interval.ms`);
    check(heartbeat <= bound('group.consumer.max.heartbeat.interval.ms'), `${CONSUMER_HEARTBEAT_INTERVAL_MS} must be less than or equal to group.consumer.max.heartbeat.interval.ms`);
    check(session >= bound('group.consumer.min.session.timeout.ms'), `${CONSUMER_SESSION_TIMEOUT_MS} must be greater than or equal to group.consumer.min.session.timeout.ms`);
    check(session <= bound('group.consumer.max.session.timeout.ms'), `${CONSUMER_SESSION_TIMEOUT_MS} must be less than or equal to group.consumer.max.session.timeout.ms`);
    check(session > heartbeat, `${CONSUMER_SESSION_TIMEOUT_MS} must be greater than ${CONSUMER_HEARTBEAT_INTERVAL_MS}`);
  }

  /** Validates and (unless validateOnly) replaces the group's overrides, durably. */
  set(groupId: string, config: Readonly<Record<string, string>>, validateOnly: boolean): void {
    if (groupId === '') throw new KafkaError('INVALID_REQUEST', 'Group id must not be empty.');
    const clean = Object.fromEntries(Object.entries(config).map(([k, v]) => [k, v.trim()]));
    this.validate(clean);
    if (validateOnly) return;
    if (Object.keys(clean).length === 0) this.groups.delete(groupId);
    else this.groups.set(groupId, clean);
    this.save();
  }

  private save(): void {
    if (this.dataDir === null) return;
    const groups: Record<string, Record<string, string>> = {};
    for (const id of [...this.groups.keys()].sort()) groups[id] = this.groups.get(id)!;
    const path = join(this.dataDir, FILE);
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, JSON.stringify({ version: 1, groups }, null, 2));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }
}

/** IncrementalAlterConfigs on a GROUP resource: SET (0) and DELETE (1); the keys are ints, so no APPEND/SUBTRACT. */
export function alterGroupConfigsIncrementally(
  manager: GroupConfigManager,
  groupId: string,
  ops: ReadonlyArray<{ name: string; configOperation: number; value: string | null }>,
  validateOnly: boolean,
): void {
  const next = manager.get(groupId);
  const seen = new Set<string>();
  for (const op of ops) {
    if (seen.has(op.name)) throw new KafkaError('INVALID_REQUEST', `Error due to duplicate config keys: ${op.name}`);
    seen.add(op.name);
    switch (op.configOperation) {
      case 0:
        if (op.value === null) throw new KafkaError('INVALID_REQUEST', `Null value not supported for ${op.name}`);
        next[op.name] = op.value;
        break;
      case 1:
        delete next[op.name];
        break;
      case 2:
      case 3:
        throw new KafkaError('INVALID_CONFIG', `Config value append/subtract is not allowed for config key ${op.name}`);
      default:
        throw new KafkaError('INVALID_REQUEST', `Unknown config operation ${op.configOperation}`);
    }
  }
  manager.set(groupId, next, validateOnly);
}
