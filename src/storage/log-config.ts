/**
 * Topic-level log configuration: Kafka's topic keys, their broker-level synonyms and defaults, validation,
 * and the listing DescribeConfigs needs.
 *
 * Precedence of a value: topic override > broker key(s) (in the order listed, e.g. log.retention.ms before
 * log.retention.minutes before log.retention.hours) > Kafka's default.
 * Long values equal to Long.MAX_VALUE (Kafka's "never") become Infinity in LogConfig, so comparisons such as
 * `now - t > flushMs` need no special case; describe output renders them back as 9223372036854775807.
 */
import { KafkaError } from '../errors.js';

export const LONG_MAX_STRING = '9223372036854775807';
const LONG_MAX = 9223372036854775807n;
const LONG_MIN = -9223372036854775808n;
const INT_MAX = 2147483647;
const INT_MIN = -2147483648;

/** A config value is unacceptable. Reported to clients as INVALID_CONFIG. */
export class ConfigError extends KafkaError {
  readonly key: string;
  readonly value: string;
  /** What would have been accepted, in words. */
  readonly allowed: string;
  constructor(key: string, value: string, allowed: string) {
    super('INVALID_CONFIG', `Invalid value ${value} for configuration ${key}: ${allowed}`);
    this.key = key;
    this.value = value;
    this.allowed = allowed;
  }
}

export type ConfigType = 'boolean' | 'string' | 'int' | 'long' | 'double' | 'list';

/** DescribeConfigs ConfigType codes. */
export const CONFIG_TYPE_CODES: Readonly<Record<ConfigType, number>> = {
  boolean: 1, string: 2, int: 3, long: 5, double: 6, list: 7,
};

/** DescribeConfigs ConfigSource codes (the ones a topic's config can come from here; 2 and 3 are dynamic broker configs). */
export const ConfigSource = {
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
} as const;
export type ConfigSourceCode = (typeof ConfigSource)[keyof typeof ConfigSource];

/** A broker key that supplies a topic key's default; `scale` converts its unit (hours → ms). */
export interface BrokerSynonym {
  readonly key: string;
  readonly scale: number;
}

export interface TopicConfigDef {
  readonly name: string;
  readonly type: ConfigType;
  /** Kafka's default, as DescribeConfigs shows it. */
  readonly default: string;
  /** Broker-level keys that supply the default, highest precedence first. */
  readonly brokerSynonyms: readonly BrokerSynonym[];
  readonly min?: number;
  readonly max?: number;
  /** Allowed values (each item, for lists); case-sensitive as in Kafka. */
  readonly oneOf?: readonly string[];
  /** Accepted and reported but without effect in Tributary. */
  readonly unused?: boolean;
}

const syn = (key: string, scale = 1): BrokerSynonym => ({ key, scale });

/** Every topic-level key Tributary accepts. */
export const TOPIC_CONFIG_DEFS: readonly TopicConfigDef[] = [
  { name: 'cleanup.policy', type: 'list', default: 'delete', brokerSynonyms: [syn('log.cleanup.policy')], oneOf: ['compact', 'delete'] },
  {
    name: 'compression.type', type: 'string', default: 'producer', brokerSynonyms: [syn('compression.type')],
    oneOf: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'],
  },
  { name: 'compression.gzip.level', type: 'int', default: '-1', brokerSynonyms: [syn('compression.gzip.level')], min: -1, max: 9, unused: true },
  { name: 'compression.lz4.level', type: 'int', default: '9', brokerSynonyms: [syn('compression.lz4.level')], min: 1, max: 17, unused: true },
  { name: 'compression.zstd.level', type: 'int', default: '3', brokerSynonyms: [syn('compression.zstd.level')], min: -131072, max: 22, unused: true },
  { name: 'delete.retention.ms', type: 'long', default: '86400000', brokerSynonyms: [syn('log.cleaner.delete.retention.ms')], min: 0 },
  { name: 'file.delete.delay.ms', type: 'long', default: '60000', brokerSynonyms: [syn('log.segment.delete.delay.ms')], min: 0 },
  { name: 'flush.messages', type: 'long', default: LONG_MAX_STRING, brokerSynonyms: [syn('log.flush.interval.messages')], min: 1 },
  { name: 'flush.ms', type: 'long', default: LONG_MAX_STRING, brokerSynonyms: [syn('log.flush.interval.ms')], min: 0 },
  { name: 'follower.replication.throttled.replicas', type: 'list', default: '', brokerSynonyms: [] },
  { name: 'index.interval.bytes', type: 'int', default: '4096', brokerSynonyms: [syn('log.index.interval.bytes')], min: 0 },
  { name: 'leader.replication.throttled.replicas', type: 'list', default: '', brokerSynonyms: [], unused: true },
  { name: 'local.retention.bytes', type: 'long', default: '-2', brokerSynonyms: [syn('log.local.retention.bytes')], min: -2, unused: true },
  { name: 'local.retention.ms', type: 'long', default: '-2', brokerSynonyms: [syn('log.local.retention.ms')], min: -2, unused: true },
  { name: 'max.compaction.lag.ms', type: 'long', default: LONG_MAX_STRING, brokerSynonyms: [syn('log.cleaner.max.compaction.lag.ms')], min: 1 },
  { name: 'max.message.bytes', type: 'int', default: '1048588', brokerSynonyms: [syn('message.max.bytes')], min: 0 },
  { name: 'message.downconversion.enable', type: 'boolean', default: 'true', brokerSynonyms: [syn('log.message.downconversion.enable')], unused: true },
  { name: 'message.format.version', type: 'string', default: '3.0-IV1', brokerSynonyms: [syn('log.message.format.version')], unused: true },
  // Kafka 3.x has Long.MAX_VALUE for after.max.ms; 4.0 lowered it to one hour. The broker config uses the hour.
  { name: 'message.timestamp.after.max.ms', type: 'long', default: '3600000', brokerSynonyms: [syn('log.message.timestamp.after.max.ms')], min: 0 },
  { name: 'message.timestamp.before.max.ms', type: 'long', default: LONG_MAX_STRING, brokerSynonyms: [syn('log.message.timestamp.before.max.ms')], min: 0 },
  {
    name: 'message.timestamp.difference.max.ms', type: 'long', default: LONG_MAX_STRING,
    brokerSynonyms: [syn('log.message.timestamp.difference.max.ms')], min: 0, unused: true,
  },
  {
    name: 'message.timestamp.type', type: 'string', default: 'CreateTime', brokerSynonyms: [syn('log.message.timestamp.type')],
    oneOf: ['CreateTime', 'LogAppendTime'],
  },
  { name: 'min.cleanable.dirty.ratio', type: 'double', default: '0.5', brokerSynonyms: [syn('log.cleaner.min.cleanable.ratio')], min: 0, max: 1 },
  { name: 'min.compaction.lag.ms', type: 'long', default: '0', brokerSynonyms: [syn('log.cleaner.min.compaction.lag.ms')], min: 0 },
  { name: 'min.insync.replicas', type: 'int', default: '1', brokerSynonyms: [syn('min.insync.replicas')], min: 1 },
  { name: 'preallocate', type: 'boolean', default: 'false', brokerSynonyms: [syn('log.preallocate')], unused: true },
  { name: 'remote.storage.enable', type: 'boolean', default: 'false', brokerSynonyms: [], unused: true },
  { name: 'retention.bytes', type: 'long', default: '-1', brokerSynonyms: [syn('log.retention.bytes')] },
  {
    name: 'retention.ms', type: 'long', default: '604800000',
    brokerSynonyms: [syn('log.retention.ms'), syn('log.retention.minutes', 60_000), syn('log.retention.hours', 3_600_000)], min: -1,
  },
  { name: 'segment.bytes', type: 'int', default: '1073741824', brokerSynonyms: [syn('log.segment.bytes')], min: 14 },
  { name: 'segment.index.bytes', type: 'int', default: '10485760', brokerSynonyms: [syn('log.index.size.max.bytes')], min: 4 },
  { name: 'segment.jitter.ms', type: 'long', default: '0', brokerSynonyms: [syn('log.roll.jitter.ms'), syn('log.roll.jitter.hours', 3_600_000)], min: 0 },
  { name: 'segment.ms', type: 'long', default: '604800000', brokerSynonyms: [syn('log.roll.ms'), syn('log.roll.hours', 3_600_000)], min: 1 },
  { name: 'unclean.leader.election.enable', type: 'boolean', default: 'false', brokerSynonyms: [syn('unclean.leader.election.enable')], unused: true },
];

const DEFS_BY_NAME: ReadonlyMap<string, TopicConfigDef> = new Map(TOPIC_CONFIG_DEFS.map((d) => [d.name, d]));

/** Topic key → the broker key that sets its default (the first synonym), for keys that have one. */
export const TOPIC_TO_BROKER_KEY: Readonly<Record<string, string>> = Object.fromEntries(
  TOPIC_CONFIG_DEFS.filter((d) => d.brokerSynonyms.length > 0).map((d) => [d.name, d.brokerSynonyms[0]!.key]),
);

export function topicConfigDef(name: string): TopicConfigDef | undefined {
  return DEFS_BY_NAME.get(name);
}

/** The effective configuration of one topic's partitions. Numbers are JS numbers; Long.MAX_VALUE is Infinity. */
export interface LogConfig {
  readonly cleanupPolicy: readonly string[];
  readonly compressionType: string;
  readonly compressionGzipLevel: number;
  readonly compressionLz4Level: number;
  readonly compressionZstdLevel: number;
  readonly deleteRetentionMs: number;
  readonly fileDeleteDelayMs: number;
  readonly flushMessages: number;
  readonly flushMs: number;
  readonly indexIntervalBytes: number;
  readonly maxCompactionLagMs: number;
  readonly maxMessageBytes: number;
  readonly messageTimestampAfterMaxMs: number;
  readonly messageTimestampBeforeMaxMs: number;
  readonly messageTimestampType: 'CreateTime' | 'LogAppendTime';
  readonly minCleanableDirtyRatio: number;
  readonly minCompactionLagMs: number;
  readonly minInsyncReplicas: number;
  readonly retentionBytes: number;
  /** -1: unlimited. */
  readonly retentionMs: number;
  readonly segmentBytes: number;
  readonly segmentIndexBytes: number;
  readonly segmentJitterMs: number;
  readonly segmentMs: number;
  readonly uncleanLeaderElectionEnable: boolean;
  /** The topic's own overrides, validated and normalised, as given (for persistence and describe). */
  readonly overrides: Readonly<Record<string, string>>;
}

export type BrokerDefaults = Readonly<Record<string, string | number | boolean | undefined>>;

type Parsed = number | string | boolean | string[];

/** Validates one value of a def; returns its typed form. `key` is the name to blame (topic or broker key). */
function parseValue(def: TopicConfigDef, key: string, raw: string, scale = 1): Parsed {
  const v = raw.trim();
  const fail = (allowed: string): never => {
    throw new ConfigError(key, raw, allowed);
  };
  switch (def.type) {
    case 'boolean': {
      const l = v.toLowerCase();
      if (l !== 'true' && l !== 'false') fail('expected true or false');
      return l === 'true';
    }
    case 'int':
    case 'long': {
      if (!/^[+-]?\d+$/.test(v)) fail(def.type === 'int' ? 'expected an integer' : 'expected a long integer');
      const big = BigInt(v);
      if (def.type === 'int' && (big > BigInt(INT_MAX) || big < BigInt(INT_MIN))) fail('expected a 32-bit integer');
      if (big > LONG_MAX || big < LONG_MIN) fail('expected a 64-bit integer');
      let n = big === LONG_MAX ? Infinity : Number(big);
      if (def.min !== undefined && n < def.min) fail(`value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) fail(`value must be at most ${def.max}`);
      if (scale !== 1 && Number.isFinite(n)) n = n < 0 ? -1 : n * scale; // negative hours/minutes still mean "unlimited"
      return n;
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || !Number.isFinite(n)) fail('expected a number');
      if (def.min !== undefined && n < def.min) fail(`value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) fail(`value must be at most ${def.max}`);
      return n;
    }
    case 'string':
      if (def.oneOf && !def.oneOf.includes(v)) fail(`allowed values are ${def.oneOf.join(', ')}`);
      return v;
    case 'list': {
      const items = v === '' ? [] : v.split(',').map((s) => s.trim());
      if (def.oneOf) {
        if (items.length === 0) fail(`expected one or more of ${def.oneOf.join(', ')}`);
        for (const item of items) if (!def.oneOf.includes(item)) fail(`allowed values are ${def.oneOf.join(', ')}`);
      }
      return items;
    }
  }
}

function camelCase(key: string): string {
  return key.replace(/\.([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

interface Resolved {
  def: TopicConfigDef;
  value: Parsed;
  /** The value as DescribeConfigs shows it (in the topic key's unit). */
  text: string;
  source: ConfigSourceCode;
  synonyms: Array<{ name: string; value: string; source: ConfigSourceCode }>;
}

function render(value: Parsed): string {
  if (value === Infinity) return LONG_MAX_STRING;
  if (Array.isArray(value)) return value.join(',');
  return String(value);
}

/** Where a broker key's value comes from, highest precedence first (dynamic per-broker, dynamic default, static). */
export type BrokerLayers = (key: string) => ReadonlyArray<{ value: string; source: ConfigSourceCode }>;

function resolve(
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: BrokerDefaults,
  isExplicitBrokerKey: (key: string, rendered: string, def: TopicConfigDef) => boolean,
  brokerLayers?: BrokerLayers,
): Resolved[] {
  for (const key of Object.keys(overrides)) {
    if (!DEFS_BY_NAME.has(key)) throw new ConfigError(key, String(overrides[key]), 'not a known topic-level config');
  }
  const out: Resolved[] = [];
  for (const def of TOPIC_CONFIG_DEFS) {
    const synonyms: Resolved['synonyms'] = [];
    let chosen: { value: Parsed; source: ConfigSourceCode } | undefined;
    const own = overrides[def.name];
    if (own !== undefined) {
      const value = parseValue(def, def.name, String(own));
      synonyms.push({ name: def.name, value: render(value), source: ConfigSource.TOPIC_CONFIG });
      chosen = { value, source: ConfigSource.TOPIC_CONFIG };
    }
    for (const s of def.brokerSynonyms) {
      const raw = brokerDefaults[s.key];
      if (raw === undefined || raw === null || raw === '') continue;
      const value = parseValue(def, s.key, String(raw), s.scale);
      const layers = brokerLayers?.(s.key) ?? [];
      if (layers.length > 0) {
        for (const l of layers) synonyms.push({ name: s.key, value: l.value, source: l.source });
        chosen ??= { value, source: layers[0]!.source };
        continue;
      }
      const source = !brokerLayers && isExplicitBrokerKey(s.key, render(value), def) ? ConfigSource.STATIC_BROKER_CONFIG : ConfigSource.DEFAULT_CONFIG;
      synonyms.push({ name: s.key, value: String(raw), source });
      chosen ??= { value, source };
    }
    const defaultValue = parseValue(def, def.name, def.default);
    synonyms.push({ name: def.brokerSynonyms[0]?.key ?? def.name, value: def.default, source: ConfigSource.DEFAULT_CONFIG });
    chosen ??= { value: defaultValue, source: ConfigSource.DEFAULT_CONFIG };
    out.push({ def, value: chosen.value, text: render(chosen.value), source: chosen.source, synonyms });
  }
  return out;
}

/**
 * Validates a topic's overrides (unknown keys included) against the broker defaults and returns the effective
 * config. Throws ConfigError naming the key, the value and what is allowed.
 */
export function parseTopicConfig(overrides: Readonly<Record<string, string>>, brokerDefaults: BrokerDefaults = {}): LogConfig {
  const resolved = resolve(overrides, brokerDefaults, () => true);
  const cfg: Record<string, unknown> = {};
  for (const r of resolved) cfg[camelCase(r.def.name)] = r.value;
  const normalised: Record<string, string> = {};
  for (const [k, v] of Object.entries(overrides)) normalised[k] = String(v).trim();
  cfg.overrides = Object.freeze(normalised);
  return Object.freeze(cfg) as unknown as LogConfig;
}

export interface ConfigEntry {
  name: string;
  value: string;
  /** True when neither the topic nor the broker set it. */
  isDefault: boolean;
  source: ConfigSourceCode;
  isSensitive: boolean;
  readOnly: boolean;
  type: ConfigType;
  /** Where the value could come from, highest precedence first (DescribeConfigs v1+ synonyms). */
  synonyms: Array<{ name: string; value: string; source: ConfigSourceCode }>;
}

/**
 * Every topic-level key with its effective value and source, for DescribeConfigs. With `brokerLayers`, a
 * broker key's source and synonyms are its layers (dynamic per-broker, dynamic default, static; none: a
 * default). Otherwise it counts as STATIC_BROKER_CONFIG when `explicitBrokerKeys` lists it; without that
 * set, when its value differs from Kafka's default (brokerDefaults usually holds resolved defaults too).
 */
export function describeTopicConfig(
  overrides: Readonly<Record<string, string>>,
  brokerDefaults: BrokerDefaults = {},
  opts: { explicitBrokerKeys?: ReadonlySet<string>; brokerLayers?: BrokerLayers } = {},
): ConfigEntry[] {
  const explicit = opts.explicitBrokerKeys;
  const isExplicit = (key: string, rendered: string, def: TopicConfigDef): boolean =>
    explicit ? explicit.has(key) : rendered !== render(parseValue(def, def.name, def.default));
  return resolve(overrides, brokerDefaults, isExplicit, opts.brokerLayers).map((r) => ({
    name: r.def.name,
    value: r.text,
    isDefault: r.source === ConfigSource.DEFAULT_CONFIG,
    source: r.source,
    isSensitive: false,
    readOnly: false,
    type: r.def.type,
    synonyms: r.synonyms.filter((s) => s.source !== ConfigSource.DEFAULT_CONFIG || s === r.synonyms[r.synonyms.length - 1]),
  }));
}

/** Kafka's defaults with no overrides and no broker settings. */
export const DEFAULT_LOG_CONFIG: LogConfig = parseTopicConfig({});
