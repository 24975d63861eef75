/** DescribeConfigs / CreateTopics topic config listings, built from storage's topic-config table and the broker config (static and dynamic). */
import { describeTopicConfig, topicConfigDef, CONFIG_TYPE_CODES, type ConfigEntry } from '../storage/log-config.js';
import type { BrokerContext } from './broker-context.js';
import type { ConfigListing } from './config-listing.js';

export type { ConfigListing };
import { KafkaError } from '../errors.js';

export const RESOURCE_TOPIC = 2;
export const RESOURCE_BROKER = 4;


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
  const entries = describeTopicConfig(overrides, brokerDefaults(broker), { explicitBrokerKeys: broker.explicitConfigKeys, brokerLayers: broker.dynamicConfigs.layers });
  const byName = new Map(entries.map((e) => [e.name, e]));
  const wanted = keys ?? entries.map((e) => e.name);
  const out: ConfigListing[] = [];
  for (const k of wanted) {
    const e = byName.get(k);
    if (e) out.push(toListing(e, !!opts.synonyms));
  }
  return out;
}

export function isListConfig(name: string): boolean {
  return topicConfigDef(name)?.type === 'list';
}

export function effectiveTopicConfigValue(broker: BrokerContext, overrides: Readonly<Record<string, string>>, name: string): string | undefined {
  return describeTopicConfig(overrides, brokerDefaults(broker), { explicitBrokerKeys: broker.explicitConfigKeys }).find((e) => e.name === name)?.value;
}

/** The resources the handlers' topic path accepts (BROKER and BROKER_LOGGER go to dynamic-configs.ts first). */
export function checkAlterableResource(resourceType: number): void {
  if (resourceType !== RESOURCE_TOPIC) throw new KafkaError('INVALID_REQUEST', `Unsupported resource type ${resourceType}`);
}
