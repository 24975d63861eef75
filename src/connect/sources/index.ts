/** A source connector from its configuration. */
import type { PipelineConfig, SourceConnector } from '../types.js';
import { CdcSourceConnector } from '../cdc/connector.js';
import { CsvSource } from './csv.js';
import { DirectorySource } from './directory.js';
import { HttpSource } from './http.js';
import { JsonlSource } from './jsonl.js';

export function createSource(p: PipelineConfig): SourceConnector {
  const s = p.source;
  if (s === undefined) throw new Error(`pipeline "${p.name}" has no source`);
  // CSV: a registry value format (avro, json-schema) encodes the row objects; plain JSON takes the bytes path.
  const jsonBytes = p.valueFormat === undefined || p.valueFormat === 'json' || p.schemaRegistry === undefined;
  switch (s.type) {
    case 'csv':
      return new CsvSource(p.name, s, { jsonBytes });
    case 'jsonl':
      return new JsonlSource(p.name, s);
    case 'directory':
      return new DirectorySource(p.name, s, { jsonBytes });
    case 'http':
      return new HttpSource(p.name, s);
    case 'mysql':
    case 'postgres':
      return CdcSourceConnector.fromConfig(p.name, s, { valueFormat: p.valueFormat, schemaRegistry: p.schemaRegistry });
  }
}
