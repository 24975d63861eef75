/**
 * The connect runtime's side of change data capture: any CdcSource (MySQL binlog, PostgreSQL pgoutput) as a
 * SourceConnector. Each ChangeEvent becomes its Debezium records (toCdcRecords: the envelope on
 * `<prefix>.<db>.<table>`, a tombstone after a delete); the source runtime produces each record to its own topic
 * (created on first use, see TOPIC_CREATION), and stores the event's offset in connect-offsets under the source
 * partition {server: <prefix>} (Debezium's layout) once the broker acknowledged every record of the event
 * (exactly-once: in the transaction that holds them). Only then is CdcSource.acknowledge() called, so a database
 * never forgets a change that is not safely stored. A restart hands the stored offset to CdcSource.events(),
 * which resumes right after it.
 */
import type { CdcSourceConfig, ConnectorOffset, SourceConnector, SourceContext, SourceOffset, SourcePartition, SourceRecord, TopicCreation } from '../types.js';
import { toCdcRecords, type CdcOffset, type CdcSource, type EnvelopeOptions } from './change-event.js';
import { CdcRegistryEncoder } from './registry-format.js';

/**
 * Topics created per table: Kafka Connect's topic.creation.default settings with partitions and replication
 * factor -1 (the broker's num.partitions and default.replication.factor) and the broker's cleanup.policy (delete)
 * unless the pipeline sets cleanupPolicy: compact (then the tombstones let compaction forget deleted rows).
 */
export function topicCreationFor(cleanupPolicy: 'delete' | 'compact'): TopicCreation {
  return { partitions: -1, replicationFactor: -1, configs: cleanupPolicy === 'compact' ? { 'cleanup.policy': 'compact' } : {} };
}

/** Opens the CdcSource of a pipeline's source section (the database drivers load only when used); `log` prints a note. */
export type CdcSourceFactory = (pipeline: string, config: CdcSourceConfig, log: (message: string) => void) => Promise<CdcSource>;

const FACTORIES: Record<CdcSourceConfig['type'], CdcSourceFactory> = {
  mysql: async (pipeline, config, log) => {
    const { MysqlCdcSource } = await import('./mysql.js');
    if (config.type !== 'mysql') throw new Error('not a mysql source');
    return new MysqlCdcSource(pipeline, config, log);
  },
  postgres: async (_pipeline, config, log) => {
    const { PostgresCdcSource } = await import('./postgres.js');
    if (config.type !== 'postgres') throw new Error('not a postgres source');
    const { url, tables, slot, publication, snapshot } = config;
    return new PostgresCdcSource({ url, tables, slot, publication, snapshot, log });
  },
};

export interface CdcConnectorOptions {
  prefix: string;
  tombstones: boolean;
  cleanupPolicy: 'delete' | 'compact';
  /** Debezium's provide.transaction.metadata (a transaction block in each envelope). */
  transactions?: boolean;
  /** Avro or JSON Schema through the schema registry at `schemaRegistry` (default: JSON, no registry). */
  valueFormat?: 'json' | 'avro' | 'json-schema';
  schemaRegistry?: string;
}

export class CdcSourceConnector implements SourceConnector {
  readonly topicCreation: TopicCreation;
  private source: CdcSource | null = null;
  private stopped = false;
  private readonly partition: SourcePartition;
  private readonly envelope: EnvelopeOptions;
  private readonly encoder: CdcRegistryEncoder | undefined;

  constructor(
    readonly name: string,
    private readonly open: (log: (message: string) => void) => Promise<CdcSource>,
    options: CdcConnectorOptions,
    connector: string,
  ) {
    this.partition = { server: options.prefix };
    this.topicCreation = topicCreationFor(options.cleanupPolicy);
    this.envelope = { prefix: options.prefix, connector, tombstones: options.tombstones, transactions: options.transactions };
    const format = options.valueFormat ?? 'json';
    if (format !== 'json' && options.schemaRegistry === undefined) throw new Error(`valueFormat ${format} needs schemaRegistry (the registry's URL)`);
    this.encoder = format === 'json' ? undefined : new CdcRegistryEncoder(format, options.schemaRegistry!, connector);
  }

  static fromConfig(pipeline: string, config: CdcSourceConfig, format?: { valueFormat?: CdcConnectorOptions['valueFormat']; schemaRegistry?: string }): CdcSourceConnector {
    return new CdcSourceConnector(pipeline, (log) => FACTORIES[config.type](pipeline, config, log), { ...config, ...format }, config.type === 'mysql' ? 'mysql' : 'postgresql');
  }

  async *records(context?: SourceContext): AsyncIterable<SourceRecord> {
    const stored = (context?.offset(this.partition) ?? null) as CdcOffset | null;
    if (stored !== null) context?.log(`resuming change capture after the stored offset ${JSON.stringify(stored)}`);
    const source = await this.open((message) => context?.log(message));
    this.source = source;
    if (this.stopped) {
      await source.stop();
      return;
    }
    const order = new Map<string, { total: number; tables: Map<string, number> }>();
    for await (const event of source.events(stored)) {
      let txOrder: { total: number; table: number } | undefined;
      if (this.envelope.transactions === true && event.transactionId !== undefined) {
        let tx = order.get(event.transactionId);
        if (tx === undefined) {
          order.clear();
          tx = { total: 0, tables: new Map() };
          order.set(event.transactionId, tx);
        }
        const table = `${event.db}.${event.table}`;
        tx.total++;
        tx.tables.set(table, (tx.tables.get(table) ?? 0) + 1);
        txOrder = { total: tx.total, table: tx.tables.get(table)! };
      }
      const cdcRecords = toCdcRecords(event, this.envelope, txOrder);
      const records = this.encoder === undefined ? cdcRecords : await this.encoder.encode(event, cdcRecords);
      for (let i = 0; i < records.length; i++) {
        const r = records[i];
        const last = i === records.length - 1;
        // The offset rides on the event's last record: it is stored once every record of the event is acknowledged.
        yield {
          topic: r.topic,
          key: r.key,
          value: r.value,
          timestamp: r.timestamp,
          ...(last ? { sourcePartition: this.partition, sourceOffset: event.offset as ConnectorOffset } : {}),
        };
      }
    }
  }

  offsetsStored(offsets: Array<{ partition: SourcePartition; offset: SourceOffset | ConnectorOffset }>): void {
    const mine = offsets.filter((o) => o.partition.server === this.partition.server);
    if (mine.length > 0) this.source?.acknowledge(mine[mine.length - 1].offset as CdcOffset);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.source?.stop();
  }
}
