/** DescribeConfigs / CreateTopics config listings, built from storage's topic-config table and the broker config. */
import { describeTopicConfig, topicConfigDef, CONFIG_TYPE_CODES, type ConfigEntry } from '../storage/log-config.js';
import { brokerConfigDefs } from './config.js';
import type { BrokerContext } from './broker-context.js';
import { KafkaError } from '../errors.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;

const SOURCE_STATIC_BROKER = 4;
const SOURCE_DEFAULT = 5;

export interface ConfigListing {
  name: string;
  value: string | null;
  readOnly: boolean;
  isDefault: boolean;
  configSource: number;
  isSensitive: boolean;
  configType: number;
  synonyms: Array<{ name: string; value: string | null; source: number }>;
  documentation: string | null;
}

function brokerDefaults(broker: BrokerContext): Record<string, string> {
  return Object.fromEntries(broker.config);
}

function toListing(e: ConfigEntry, withSynonyms: boolean): ConfigListing {
  return {
    name: e.name, value: e.value, readOnly: e.readOnly, isDefault: e.isDefault, configSource: e.source,
    isSensitive: e.isSensitive, configType: CONFIG_TYPE_CODES[e.type], synonyms: withSynonyms ? e.synonyms : [], documentation: null,
  };
}

export function describeTopicConfigs(
  broker: BrokerContext,
  overrides: Readonly<Record<string, string>>,
  keys: readonly string[] | null,
  opts: { synonyms?: boolean; documentation?: boolean } = {},
): ConfigListing[] {
  const entries = describeTopicConfig(overrides, brokerDefaults(broker), { explicitBrokerKeys: broker.explicitConfigKeys });
  const byName = new Map(entries.map((e) => [e.name, e]));
  const wanted = keys ?? entries.map((e) => e.name);
  const out: ConfigListing[] = [];
  for (const k of wanted) {
    const e = byName.get(k);
    if (e) out.push(toListing(e, !!opts.synonyms));
  }
  return out;
}

const BROKER_TYPE: Record<string, number> = { int: 3, long: 5, double: 6, boolean: 1, string: 2, list: 7 };

export function describeBrokerConfigs(
  broker: BrokerContext,
  keys: readonly string[] | null,
  _opts: { synonyms?: boolean; documentation?: boolean } = {},
): ConfigListing[] {
  const names = keys ?? Object.keys(brokerConfigDefs).sort();
  const out: ConfigListing[] = [];
  for (const name of names) {
    const def = brokerConfigDefs[name];
    if (!def) continue;
    const value = broker.config.get(name) ?? null;
    const explicit = broker.explicitConfigKeys.has(name);
    out.push({
      name, value, readOnly: true, isDefault: !explicit, configSource: explicit ? SOURCE_STATIC_BROKER : SOURCE_DEFAULT,
      isSensitive: false, configType: BROKER_TYPE[def.kind] ?? 0, synonyms: [], documentation: null,
    });
  }
  return out;
}

export function isListConfig(name: string): boolean {
  return topicConfigDef(name)?.type === 'list';
}

export function effectiveTopicConfigValue(broker: BrokerContext, overrides: Readonly<Record<string, string>>, name: string): string | undefined {
  return describeTopicConfig(overrides, brokerDefaults(broker), { explicitBrokerKeys: broker.explicitConfigKeys }).find((e) => e.name === name)?.value;
}

/** Alter(Incremental)Configs accept topic resources only: broker configs are static here. */
export function checkAlterableResource(resourceType: number): void {
  if (resourceType === RESOURCE_BROKER) {
    throw new KafkaError('INVALID_REQUEST', 'Broker configs are static in Tributary: set them in server.properties or with --set and restart');
  }
  if (resourceType !== RESOURCE_TOPIC) throw new KafkaError('INVALID_REQUEST', `Unsupported resource type ${resourceType}`);
}
