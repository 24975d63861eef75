// One config entry as DescribeConfigs lists it (topics, brokers, groups): a module of its own so that configs.ts,
// dynamic-configs.ts and group-configs.ts share it without importing each other.
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
