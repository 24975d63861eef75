/**
 * Dynamic broker configs on disk (what Kafka keeps in its metadata log as ConfigRecords for BROKER resources).
 *
 * File in the data directory:
 *   broker-configs.json      {"version":1,"clusterDefault":{key:value},"brokers":{"<node id>":{key:value}}}
 *                            clusterDefault: the cluster-wide dynamic defaults (resource name "");
 *                            brokers: per-broker dynamic configs by node id (resource name "<id>").
 *                            Values are strings, as AlterConfigs sent them (validated before they are stored).
 *   broker-configs.json.tmp  an interrupted save: ignored and removed on open.
 * Replaced atomically (temp file, fsync, rename, directory fsync), so after a crash either the old or the new
 * content is there. Absent file: no dynamic configs.
 *
 * Concurrency: save() writes synchronously, so saves never overlap and the file always holds the state of the
 * last completed call; callers change their memory only after save() returned.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../errors.js';
import { tempPathOf, writeFileAtomicSync } from './file-io.js';

export const DYNAMIC_CONFIGS_FILE = 'broker-configs.json';

export interface DynamicConfigDoc {
  /** Resource name "": every broker's dynamic default. */
  clusterDefault: Record<string, string>;
  /** Resource name "<node id>": one broker's own dynamic configs. */
  brokers: Record<string, Record<string, string>>;
}

function stringMap(v: unknown, where: string, file: string): Record<string, string> {
  if (v === undefined) return {};
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw new TributaryError('ERR_DYNAMIC_CONFIGS_CORRUPT', `${file}: ${where} is not an object`);
  }
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (typeof val !== 'string') throw new TributaryError('ERR_DYNAMIC_CONFIGS_CORRUPT', `${file}: ${where}.${k} is not a string`);
    out[k] = val;
  }
  return out;
}

export class DynamicConfigStore {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, DYNAMIC_CONFIGS_FILE);
  }

  /** The stored configs (empty when there is no file). Throws ERR_DYNAMIC_CONFIGS_CORRUPT on a bad file. */
  read(): DynamicConfigDoc {
    fs.rmSync(tempPathOf(this.file), { force: true });
    if (!fs.existsSync(this.file)) return { clusterDefault: {}, brokers: {} };
    let doc: { version?: unknown; clusterDefault?: unknown; brokers?: unknown };
    try {
      doc = JSON.parse(fs.readFileSync(this.file, 'utf8')) as typeof doc;
    } catch (err) {
      throw new TributaryError('ERR_DYNAMIC_CONFIGS_CORRUPT', `${this.file} is not valid JSON`, { cause: err });
    }
    if (doc.version !== 1) throw new TributaryError('ERR_DYNAMIC_CONFIGS_CORRUPT', `${this.file}: unsupported version`);
    const brokers: Record<string, Record<string, string>> = {};
    if (doc.brokers !== undefined) {
      if (typeof doc.brokers !== 'object' || doc.brokers === null || Array.isArray(doc.brokers)) {
        throw new TributaryError('ERR_DYNAMIC_CONFIGS_CORRUPT', `${this.file}: brokers is not an object`);
      }
      for (const [id, configs] of Object.entries(doc.brokers)) brokers[id] = stringMap(configs, `brokers.${id}`, this.file);
    }
    return { clusterDefault: stringMap(doc.clusterDefault, 'clusterDefault', this.file), brokers };
  }

  /** Replaces the file with `doc` (durable when this returns). */
  save(doc: DynamicConfigDoc): void {
    const brokers = Object.fromEntries(Object.entries(doc.brokers).filter(([, c]) => Object.keys(c).length > 0));
    writeFileAtomicSync(this.file, JSON.stringify({ version: 1, clusterDefault: doc.clusterDefault, brokers }, null, 2) + '\n');
  }
}
