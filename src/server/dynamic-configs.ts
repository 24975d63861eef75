/**
 * Dynamic broker configs (Kafka's KIP-226): the BROKER resource (type 4) of DescribeConfigs, AlterConfigs and
 * IncrementalAlterConfigs, named by this broker's id (per-broker) or "" (the cluster-wide default), and the
 * BROKER_LOGGER resource (type 8, log levels).
 *
 * Precedence of a broker key, highest first: dynamic per-broker (source 2), dynamic cluster default (3),
 * static (server.properties / --set, 4), Kafka's default (5). The effective values are written in place into
 * the broker's config Map and the broker-defaults record the LogManager and TopicManager read, and every log
 * re-derives its config, so a topic without an override picks up a new default at once. Changes are
 * persisted (storage/dynamic-config-store.ts) before they apply and are loaded again before the logs open.
 *
 * In a cluster (etcd.connect) etcd holds them instead, as Kafka's metadata log does: `<prefix>/configs/brokers/
 * default` and `…/<node id>`. An alteration on any broker is validated there and written to etcd (the local
 * file is not used); every broker applies the image's default and its own entry as they arrive
 * (applyClusterConfigs), so a cluster default set through broker 1 changes every broker, and a per-broker change
 * for broker 2 may be sent to any broker (Kafka forwards it to its controller; here the receiving broker writes
 * it). Describing a per-broker resource still needs that broker (INVALID_REQUEST elsewhere, as in Kafka).
 *
 * Which keys are dynamic follows Kafka: the broker synonyms of topic keys (log.retention.ms, log.segment.bytes,
 * message.max.bytes, log.cleaner.*.ms, compression.type, …, cluster-wide), the log cleaner's and thread pools'
 * sizes (accepted and reported; thread counts only within half to double the current value), and the
 * connection limits. Every other key Kafka or Tributary defines is read-only: altering it is INVALID_REQUEST
 * ("Cannot update these configs dynamically"), and so is a bad value — Kafka keeps code 42 for broker config
 * validation failures (KAFKA-13609), not INVALID_CONFIG. A key neither defines is stored, as Kafka does.
 * Log levels are not persisted (as in Kafka, a restart restores the configured level).
 */
import { KafkaError } from '../errors.js';
import type { Logger, LogLevel } from '../logger.js';
import { brokerConfigDefs, checkValue, type BrokerConfig, type Def } from './config.js';
import { CONFIG_TYPE_CODES, ConfigSource, parseTopicConfig, TOPIC_CONFIG_DEFS, type BrokerLayers, type ConfigSourceCode, type ConfigType } from '../storage/log-config.js';
import { DynamicConfigStore, type DynamicConfigDoc } from '../storage/dynamic-config-store.js';
import type { ConfigListing } from './config-listing.js';

export const RESOURCE_BROKER = 4;
export const RESOURCE_BROKER_LOGGER = 8;

export const CONFIG_OP = { SET: 0, DELETE: 1, APPEND: 2, SUBTRACT: 3 } as const;
const SOURCE_DYNAMIC_BROKER_LOGGER = 6;

export interface ConfigOperation {
  name: string;
  op: number;
  value: string | null;
}

interface KeyDef {
  type: ConfigType;
  /** Kafka's default, as DescribeConfigs shows it; null when Kafka has none. */
  default: string | null;
  min?: number;
  max?: number;
  oneOf?: readonly string[];
  /** A thread pool size: an update must stay within half to double the current value. */
  threadPool?: boolean;
}

/** Topic key → its broker synonyms, for broker keys that set a topic key's default. */
const TOPIC_BY_BROKER_KEY = new Map<string, (typeof TOPIC_CONFIG_DEFS)[number]>();
for (const def of TOPIC_CONFIG_DEFS) for (const s of def.brokerSynonyms) if (!TOPIC_BY_BROKER_KEY.has(s.key)) TOPIC_BY_BROKER_KEY.set(s.key, def);

/** Kafka's dynamic keys besides the topic-default synonyms: accepted, stored and described. */
const OTHER_DYNAMIC_DEFS: Readonly<Record<string, KeyDef>> = {
  'log.cleaner.threads': { type: 'int', default: '1', min: 0, threadPool: true },
  'log.cleaner.io.max.bytes.per.second': { type: 'double', default: '1.7976931348623157E308' },
  'log.cleaner.dedupe.buffer.size': { type: 'long', default: '134217728' },
  'log.cleaner.io.buffer.size': { type: 'int', default: '524288', min: 0 },
  'log.cleaner.io.buffer.load.factor': { type: 'double', default: '0.9' },
  'log.cleaner.backoff.ms': { type: 'long', default: '15000', min: 0 },
  'num.io.threads': { type: 'int', default: '8', min: 1, threadPool: true },
  'num.network.threads': { type: 'int', default: '3', min: 1, threadPool: true },
  'num.replica.fetchers': { type: 'int', default: '1', threadPool: true },
  'num.recovery.threads.per.data.dir': { type: 'int', default: '2', min: 1, threadPool: true },
  'background.threads': { type: 'int', default: '10', min: 1, threadPool: true },
  'max.connections': { type: 'int', default: '2147483647', min: 0 },
  'max.connections.per.ip': { type: 'int', default: '2147483647', min: 0 },
  'max.connection.creation.rate': { type: 'int', default: '2147483647', min: 0 },
  'leader.replication.throttled.rate': { type: 'long', default: '9223372036854775807', min: 0 },
  'follower.replication.throttled.rate': { type: 'long', default: '9223372036854775807', min: 0 },
};

/**
 * Broker synonyms of topic keys that Kafka does not update dynamically: only the first (millisecond) key of
 * each family is dynamic, and the message format version is gone in Kafka 4.
 */
const NOT_DYNAMIC_SYNONYMS = new Set(['log.retention.minutes', 'log.retention.hours', 'log.roll.hours', 'log.roll.jitter.hours', 'log.message.format.version']);

/** Static keys of Kafka that Tributary does not define, refused like its own read-only keys. */
const KAFKA_STATIC_KEYS = new Set([
  'process.roles', 'controller.quorum.voters', 'controller.quorum.bootstrap.servers', 'controller.listener.names',
  'inter.broker.listener.name', 'broker.rack', 'log.cleaner.enable', 'log.flush.offset.checkpoint.interval.ms',
  'offsets.topic.replication.factor', 'transaction.state.log.replication.factor', 'num.partitions',
]);

/** Kafka's DynamicBrokerConfig.brokerConfigSynonyms: a key's family, most preferred first. */
const FAMILIES: ReadonlyArray<readonly string[]> = [
  ['log.roll.ms', 'log.roll.hours'],
  ['log.roll.jitter.ms', 'log.roll.jitter.hours'],
  ['log.retention.ms', 'log.retention.minutes', 'log.retention.hours'],
  ['log.flush.interval.ms', 'log.flush.scheduler.interval.ms'],
];

export function isDynamicBrokerKey(key: string): boolean {
  if (NOT_DYNAMIC_SYNONYMS.has(key)) return false;
  return TOPIC_BY_BROKER_KEY.has(key) || key in OTHER_DYNAMIC_DEFS;
}

/** What Tributary knows of a broker key's type and default (undefined: a key neither Kafka nor Tributary define here). */
function keyDef(key: string): KeyDef | undefined {
  const b = brokerConfigDefs[key];
  if (b) return { type: b.kind, default: b.default, min: b.min, max: b.max, oneOf: b.oneOf };
  const other = OTHER_DYNAMIC_DEFS[key];
  if (other) return other;
  const topic = TOPIC_BY_BROKER_KEY.get(key);
  if (topic) {
    const first = topic.brokerSynonyms[0]!;
    const scaled = first.key !== key || first.scale !== 1;
    return { type: topic.type, default: scaled ? null : topic.default, min: topic.min, max: topic.max, oneOf: topic.oneOf };
  }
  return undefined;
}

function isKnownStatic(key: string): boolean {
  return !isDynamicBrokerKey(key) && (key in brokerConfigDefs || KAFKA_STATIC_KEYS.has(key) || NOT_DYNAMIC_SYNONYMS.has(key));
}

function familyOf(key: string): readonly string[] {
  return FAMILIES.find((f) => f.includes(key)) ?? [key];
}

const invalidRequest = (message: string): KafkaError => new KafkaError('INVALID_REQUEST', message);

/** Kafka's log4j levels that BROKER_LOGGER accepts, and pino's names for them. */
const LOG_LEVELS: Readonly<Record<string, LogLevel>> = { FATAL: 'fatal', ERROR: 'error', WARN: 'warn', INFO: 'info', DEBUG: 'debug', TRACE: 'trace' };
export const ROOT_LOGGER = 'root';

export interface DynamicBrokerConfigOptions {
  dataDir: string;
  nodeId: number;
  /** The broker's resolved config (defaults + static); updated in place with the dynamic values. */
  config: BrokerConfig;
  /** Keys the file or --set gave (STATIC_BROKER_CONFIG). */
  explicitKeys: ReadonlySet<string>;
  logger?: Logger;
  /** In a cluster: the dynamic configs live in etcd, not in the data directory. */
  cluster?: ClusterConfigSource;
}

/** The etcd side of a cluster's dynamic broker configs (entity 'default' or a node id). */
export interface ClusterConfigSource {
  /** The image's configs when the broker starts. */
  readonly brokerConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /**
   * Read-modify-write of one entity's set: `update` maps the stored set to the new one (empty deletes it) and is
   * applied again if another broker changed the set meanwhile; resolves once this broker's image holds it.
   */
  update(entity: string, update: (stored: Readonly<Record<string, string>>) => Record<string, string>): Promise<void>;
}

/** 'default' for the cluster default, else a node id as a decimal string. */
type Entity = string;
const DEFAULT_ENTITY = 'default';

export class DynamicBrokerConfig {
  private readonly store: DynamicConfigStore;
  private readonly staticValues: ReadonlyMap<string, string>;
  private doc: DynamicConfigDoc;
  private readonly mirrors: Array<Record<string, string>> = [];
  private readonly listeners: Array<() => void> = [];

  /** Reads the persisted dynamic configs and applies them to `config` (a stored value now invalid is skipped with a warning). */
  constructor(private readonly opts: DynamicBrokerConfigOptions) {
    this.store = new DynamicConfigStore(opts.dataDir);
    this.staticValues = new Map(opts.config);
    const stored = opts.cluster ? docOf(opts.cluster.brokerConfigs) : this.store.read();
    this.lastClusterConfigs = opts.cluster?.brokerConfigs ?? null;
    this.doc = { clusterDefault: this.keepValid(stored.clusterDefault, ''), brokers: {} };
    const own = stored.brokers[String(opts.nodeId)];
    if (own) this.doc.brokers[String(opts.nodeId)] = this.keepValid(own, String(opts.nodeId));
    for (const [id, configs] of Object.entries(stored.brokers)) if (id !== String(opts.nodeId)) this.doc.brokers[id] = configs;
    this.applyEffective();
  }

  private lastClusterConfigs: ReadonlyMap<string, Readonly<Record<string, string>>> | null;

  /**
   * A cluster's image changed: applies its default and this broker's entry when they differ from what applies
   * now (a stored value now invalid is skipped with a warning, as at startup).
   */
  applyClusterConfigs(brokerConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>): void {
    if (brokerConfigs === this.lastClusterConfigs) return;
    this.lastClusterConfigs = brokerConfigs;
    const stored = docOf(brokerConfigs);
    const own = String(this.opts.nodeId);
    const next: DynamicConfigDoc = { clusterDefault: this.keepValid(stored.clusterDefault, ''), brokers: { ...stored.brokers } };
    if (stored.brokers[own]) next.brokers[own] = this.keepValid(stored.brokers[own], own);
    const changed = JSON.stringify(next.clusterDefault) !== JSON.stringify(this.doc.clusterDefault)
      || JSON.stringify(next.brokers[own] ?? {}) !== JSON.stringify(this.perBroker);
    this.doc = next;
    if (changed) this.applyEffective();
  }

  private keepValid(configs: Record<string, string>, resource: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(configs)) {
      try {
        if (isKnownStatic(k)) throw invalidRequest(`${k} is not dynamic`);
        out[k] = this.checkValue(k, v, null);
      } catch (err) {
        this.opts.logger?.warn({ key: k, value: v, resource, err: (err as Error).message }, 'ignoring a stored dynamic broker config that is no longer valid');
      }
    }
    return out;
  }

  /** Also keeps `record` (the broker defaults the log and topic managers read) equal to the effective config. */
  mirrorInto(record: Record<string, string>): void {
    this.mirrors.push(record);
    this.syncMirror(record);
  }

  /** Called after every applied change (the new values are already in the config Map). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private get perBroker(): Record<string, string> {
    return this.doc.brokers[String(this.opts.nodeId)] ?? {};
  }

  /** A broker key's layers, highest precedence first, without Kafka's default. */
  readonly layers: BrokerLayers = (key) => {
    const out: Array<{ value: string; source: ConfigSourceCode }> = [];
    const own = this.perBroker[key];
    if (own !== undefined) out.push({ value: own, source: ConfigSource.DYNAMIC_BROKER_CONFIG });
    const dflt = this.doc.clusterDefault[key];
    if (dflt !== undefined) out.push({ value: dflt, source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG });
    const stat = this.staticValues.get(key);
    if (stat !== undefined && this.opts.explicitKeys.has(key)) out.push({ value: stat, source: ConfigSource.STATIC_BROKER_CONFIG });
    return out;
  };

  /** The dynamic configs of a resource name ("" or this node id; in a cluster any node id), a copy. */
  dynamicConfigs(resourceName: string): Record<string, string> {
    return this.configsOf(this.entityOf(resourceName));
  }

  private configsOf(entity: Entity): Record<string, string> {
    return { ...(entity === DEFAULT_ENTITY ? this.doc.clusterDefault : this.doc.brokers[entity] ?? {}) };
  }

  // ---- DescribeConfigs ----

  /** DescribeConfigs of BROKER: every key (per-broker) or the dynamic defaults set (""), with sources. */
  describe(resourceName: string, keys: readonly string[] | null, opts: { synonyms?: boolean } = {}): ConfigListing[] {
    const perBrokerResource = this.entityOf(resourceName, true) !== DEFAULT_ENTITY;
    let names: string[];
    if (perBrokerResource) {
      const all = new Set<string>([...Object.keys(brokerConfigDefs), ...TOPIC_BY_BROKER_KEY.keys(), ...Object.keys(OTHER_DYNAMIC_DEFS)]);
      for (const k of this.opts.explicitKeys) all.add(k);
      for (const k of Object.keys(this.doc.clusterDefault)) all.add(k);
      for (const k of Object.keys(this.perBroker)) all.add(k);
      names = [...all].sort();
    } else {
      names = Object.keys(this.doc.clusterDefault).sort();
    }
    if (keys) names = names.filter((n) => keys.includes(n));
    return names.map((name) => this.listing(name, perBrokerResource, !!opts.synonyms));
  }

  private listing(name: string, perBrokerResource: boolean, withSynonyms: boolean): ConfigListing {
    const def = keyDef(name);
    const synonyms: ConfigListing['synonyms'] = [];
    for (const s of familyOf(name)) {
      for (const l of this.layers(s)) {
        if (!perBrokerResource && l.source === ConfigSource.DYNAMIC_BROKER_CONFIG) continue;
        synonyms.push({ name: s, value: l.value, source: l.source });
      }
      const d = keyDef(s)?.default;
      if (d !== null && d !== undefined) synonyms.push({ name: s, value: d, source: ConfigSource.DEFAULT_CONFIG });
    }
    const source = synonyms[0]?.source ?? ConfigSource.DEFAULT_CONFIG;
    const sensitive = /(^|\.)(ssl\.(key\.password|keystore\.key|keystore\.password|truststore\.password)|sasl\.jaas\.config)$/.test(name);
    const value = sensitive ? null : perBrokerResource ? (this.opts.config.get(name) ?? null) : (this.doc.clusterDefault[name] ?? null);
    return {
      name, value, readOnly: !isDynamicBrokerKey(name), isDefault: source === ConfigSource.DEFAULT_CONFIG,
      configSource: source, isSensitive: sensitive, configType: def ? CONFIG_TYPE_CODES[def.type] : 0,
      synonyms: withSynonyms ? synonyms : [], documentation: null,
    };
  }

  // ---- (Incremental)AlterConfigs ----

  /** IncrementalAlterConfigs of BROKER: SET, DELETE, APPEND/SUBTRACT (list keys) on the resource's dynamic configs. */
  async incrementalAlter(resourceName: string, ops: readonly ConfigOperation[], validateOnly: boolean): Promise<void> {
    const entity = this.entityOf(resourceName);
    const seen = new Set<string>();
    for (const o of ops) {
      if (seen.has(o.name)) throw invalidRequest(`Error due to duplicate config keys: ${o.name}`);
      seen.add(o.name);
    }
    await this.commit(entity, (current) => applyConfigOps(current, ops), validateOnly);
  }

  /** AlterConfigs (legacy) of BROKER: the resource's dynamic configs become exactly `configs`. */
  async replace(resourceName: string, configs: ReadonlyArray<{ name: string; value: string | null }>, validateOnly: boolean): Promise<void> {
    const entity = this.entityOf(resourceName);
    const next: Record<string, string> = {};
    for (const c of configs) {
      if (c.value === null) throw invalidRequest(`Null value not supported for : ${c.name}`);
      next[c.name] = c.value;
    }
    await this.commit(entity, () => next, validateOnly);
  }

  /**
   * Validates the resource's whole new set (`change` of its current one), persists it, then applies it
   * (validateOnly: only the first). In a cluster it is a compare-and-swap in etcd (`change` re-applied to the
   * stored set if another broker changed it meanwhile) and applies when the image brings it back (before this
   * returns).
   */
  private async commit(entity: Entity, change: (current: Readonly<Record<string, string>>) => Record<string, string>, validateOnly: boolean): Promise<void> {
    if (this.opts.cluster && !validateOnly) {
      await this.opts.cluster.update(entity, (stored) => this.validated(entity, change(stored)).normalised);
      return;
    }
    const { doc } = this.validated(entity, change(this.configsOf(entity)));
    if (validateOnly || this.opts.cluster) return;
    this.store.save(doc);
    this.doc = doc;
    this.applyEffective();
  }

  /** Checks a resource's whole new set; returns its stored form and the document it would make. */
  private validated(entity: Entity, next: Record<string, string>): { normalised: Record<string, string>; doc: DynamicConfigDoc } {
    const nonDynamic = Object.keys(next).filter(isKnownStatic);
    if (nonDynamic.length > 0) throw invalidRequest(`Cannot update these configs dynamically: [${nonDynamic.join(', ')}]`);
    const normalised: Record<string, string> = {};
    const own = String(this.opts.nodeId);
    // Thread-pool bounds are checked against this broker's current values; another broker's (a cluster's
    // per-broker change sent here) are not known here.
    const current = entity === DEFAULT_ENTITY || entity === own ? this.opts.config : null;
    for (const [k, v] of Object.entries(next)) normalised[k] = this.checkValue(k, v, current);
    const doc: DynamicConfigDoc = { clusterDefault: this.doc.clusterDefault, brokers: { ...this.doc.brokers } };
    if (entity === DEFAULT_ENTITY) doc.clusterDefault = normalised;
    else doc.brokers[entity] = normalised;
    const effective = this.effectiveOf(doc, entity === DEFAULT_ENTITY ? own : entity);
    try {
      parseTopicConfig({}, Object.fromEntries(effective));
    } catch (err) {
      throw invalidRequest((err as Error).message);
    }
    return { normalised, doc };
  }

  /** Validates one value (type, range, allowed values, thread-pool bounds unless `current` is null); returns its stored form. */
  private checkValue(key: string, raw: string, current: ReadonlyMap<string, string> | null): string {
    const def = keyDef(key);
    if (!def) return raw; // a key Kafka does not define is stored as given
    const value = raw.trim();
    const fail = (allowed: string): never => {
      throw invalidRequest(`Invalid value ${raw} for configuration ${key}: ${allowed}`);
    };
    if (def.type === 'double') {
      const n = Number(value);
      if (value === '' || Number.isNaN(n)) fail('Not a number of type DOUBLE');
      if (def.min !== undefined && n < def.min) fail(`Value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) fail(`Value must be no more than ${def.max}`);
    } else {
      const asDef: Def = { kind: def.type === 'list' ? 'list' : def.type, default: def.default, min: def.min, max: def.max, oneOf: def.oneOf };
      try {
        checkValue(key, value, asDef);
      } catch (err) {
        throw invalidRequest((err as Error).message);
      }
    }
    if (TOPIC_BY_BROKER_KEY.has(key)) {
      try {
        parseTopicConfig({}, { [key]: value });
      } catch (err) {
        throw invalidRequest((err as Error).message);
      }
    }
    if (def.threadPool && current) {
      const old = Number(current.get(key) ?? def.default);
      const n = Number(value);
      if (n < old / 2) fail(`Dynamic thread count update validation failed: value should be at least half the current value ${old}`);
      if (n > old * 2) fail(`Dynamic thread count update validation failed: value should not be greater than double the current value ${old}`);
    }
    return value;
  }

  /**
   * "" → the cluster default; this node's id → per-broker; in a cluster, altering another broker's id is
   * per-broker too (describing it is not); anything else INVALID_REQUEST.
   */
  private entityOf(resourceName: string, describing = false): Entity {
    if (resourceName === '') return DEFAULT_ENTITY;
    if (!/^-?\d+$/.test(resourceName)) {
      throw invalidRequest(describing ? `Broker id must be an integer, but it is: ${resourceName}` : `Node id must be an integer, but it is: ${resourceName}`);
    }
    const id = Number(resourceName);
    if (id === this.opts.nodeId) return String(id);
    if (this.opts.cluster && !describing && id >= 0 && Number.isSafeInteger(id)) return String(id);
    throw invalidRequest(`Unexpected broker id, expected ${this.opts.nodeId} or empty string, but received ${resourceName}`);
  }

  private effectiveOf(doc: DynamicConfigDoc, nodeId = String(this.opts.nodeId)): Map<string, string> {
    const out = new Map(this.staticValues);
    for (const [k, v] of Object.entries(doc.clusterDefault)) out.set(k, v);
    for (const [k, v] of Object.entries(doc.brokers[nodeId] ?? {})) out.set(k, v);
    return out;
  }

  private applyEffective(): void {
    const effective = this.effectiveOf(this.doc);
    const config = this.opts.config;
    for (const k of [...config.keys()]) if (!effective.has(k)) config.delete(k);
    for (const [k, v] of effective) config.set(k, v);
    for (const m of this.mirrors) this.syncMirror(m);
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.opts.logger?.error({ err }, 'applying a dynamic broker config failed');
      }
    }
  }

  private syncMirror(record: Record<string, string>): void {
    const config = this.opts.config;
    for (const k of Object.keys(record)) if (!config.has(k)) delete record[k];
    for (const [k, v] of config) record[k] = v;
  }

  // ---- BROKER_LOGGER ----

  /** DescribeConfigs of BROKER_LOGGER: the root logger's level (Tributary has one logger). */
  describeLoggers(resourceName: string, keys: readonly string[] | null): ConfigListing[] {
    this.loggerScope(resourceName);
    if (keys && !keys.includes(ROOT_LOGGER)) return [];
    const level = this.opts.logger?.level ?? 'info';
    const kafkaLevel = Object.entries(LOG_LEVELS).find(([, p]) => p === level)?.[0] ?? 'OFF';
    return [{
      name: ROOT_LOGGER, value: kafkaLevel, readOnly: false, isDefault: false, configSource: SOURCE_DYNAMIC_BROKER_LOGGER,
      isSensitive: false, configType: CONFIG_TYPE_CODES.string, synonyms: [], documentation: null,
    }];
  }

  /** IncrementalAlterConfigs of BROKER_LOGGER: SET a logger's level; the root logger's level cannot be removed. */
  alterLoggers(resourceName: string, ops: readonly ConfigOperation[], validateOnly: boolean): void {
    this.loggerScope(resourceName);
    let level: LogLevel | undefined;
    for (const o of ops) {
      if (o.name !== ROOT_LOGGER) throw new KafkaError('INVALID_CONFIG', `Logger ${o.name} does not exist!`);
      switch (o.op) {
        case CONFIG_OP.SET: {
          const l = LOG_LEVELS[o.value ?? ''];
          if (!l) {
            throw new KafkaError('INVALID_CONFIG', `Cannot set the log level of ${o.name} to ${o.value} as it is not a supported log level. Valid log levels are ${Object.keys(LOG_LEVELS).join(', ')}`);
          }
          level = l;
          break;
        }
        case CONFIG_OP.DELETE:
          throw invalidRequest(`Removing the log level of the ${ROOT_LOGGER} logger is not allowed`);
        case CONFIG_OP.APPEND:
        case CONFIG_OP.SUBTRACT:
          throw invalidRequest(`${o.op === CONFIG_OP.APPEND ? 'APPEND' : 'SUBTRACT'} operation is not allowed for the BROKER_LOGGER resource`);
        default:
          throw invalidRequest(`Unknown operation type ${o.op} is not allowed for the BROKER_LOGGER resource`);
      }
    }
    if (!validateOnly && level && this.opts.logger) this.opts.logger.level = level;
  }

  private loggerScope(resourceName: string): void {
    if (resourceName === '') throw invalidRequest('Broker id must not be empty');
    if (!/^-?\d+$/.test(resourceName) || Number(resourceName) !== this.opts.nodeId) {
      throw invalidRequest(`Unexpected broker id, expected ${this.opts.nodeId} but received ${resourceName}`);
    }
  }
}

/** IncrementalAlterConfigs' operations applied to a resource's current dynamic configs; returns the new set. */
function applyConfigOps(current: Readonly<Record<string, string>>, ops: readonly ConfigOperation[]): Record<string, string> {
  const next = { ...current };
  for (const o of ops) {
    switch (o.op) {
      case CONFIG_OP.SET:
        if (o.value === null) throw invalidRequest(`Null value not supported for : ${o.name}`);
        next[o.name] = o.value;
        break;
      case CONFIG_OP.DELETE:
        delete next[o.name];
        break;
      case CONFIG_OP.APPEND:
      case CONFIG_OP.SUBTRACT: {
        const def = keyDef(o.name);
        const verb = o.op === CONFIG_OP.APPEND ? 'append' : 'subtract';
        if (def?.type !== 'list') throw new KafkaError('INVALID_CONFIG', `Config value ${verb} is not allowed for config key: ${o.name}`);
        const split = (v: string | null | undefined): string[] => (v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const current = split(next[o.name] ?? def.default);
        const items = split(o.value);
        next[o.name] = (o.op === CONFIG_OP.APPEND ? [...current, ...items.filter((i) => !current.includes(i))] : current.filter((i) => !items.includes(i))).join(',');
        break;
      }
      default:
        throw invalidRequest(`Unknown operation type ${o.op}`);
    }
  }
  return next;
}

/** A cluster image's broker configs as the document the file holds. */
function docOf(brokerConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>): DynamicConfigDoc {
  const doc: DynamicConfigDoc = { clusterDefault: { ...(brokerConfigs.get(DEFAULT_ENTITY) ?? {}) }, brokers: {} };
  for (const [entity, configs] of brokerConfigs) if (entity !== DEFAULT_ENTITY) doc.brokers[entity] = { ...configs };
  return doc;
}
