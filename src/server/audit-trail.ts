/**
 * The broker's audit trail from its config: the file (security/audit-log.ts) unless `audit.log.enable=false`,
 * plus the topic (audit-topic.ts) when `audit.log.topic` names one; NO_AUDIT when neither.
 */
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import { NO_AUDIT, type AuditSink } from '../security/audit.js';
import { AuditLog, fanOutAudit, type AuditLineSink } from '../security/audit-log.js';
import { AuditTopicSink } from './audit-topic.js';
import { getInt, type BrokerConfig } from './config.js';
import type { TopicManager } from './topic-manager.js';
import type { Replication } from './replication.js';

export interface AuditTrailDeps {
  readonly config: BrokerConfig;
  readonly dataDir: string;
  readonly nodeId: number;
  readonly logger: Logger;
  readonly topics: TopicManager;
  readonly replication: Replication;
  /** Appends as this partition's leader, resolving once committed (LocalPartitions.append). */
  readonly appendLocal: (topic: string, partition: number, batch: Buffer, recordCount: number) => Promise<void>;
  /** In a cluster: a Produce to the partition's leader on another broker. */
  readonly produceRemote: ((leaderId: number, topic: string, partition: number, batch: Buffer) => Promise<void>) | null;
}

export function openAuditTrail(d: AuditTrailDeps): AuditSink {
  const sinks: AuditLineSink[] = [];
  if (d.config.get('audit.log.enable') !== 'false') {
    sinks.push(new AuditLog({
      dir: d.config.get('audit.log.dir') || join(d.dataDir, 'audit'),
      nodeId: d.nodeId,
      maxBytes: getInt(d.config, 'audit.log.max.bytes'),
      maxFiles: getInt(d.config, 'audit.log.max.files'),
      logger: d.logger,
    }));
  }
  const topic = d.config.get('audit.log.topic')?.trim();
  if (topic) {
    sinks.push(new AuditTopicSink({
      topic,
      nodeId: d.nodeId,
      logger: d.logger,
      writer: {
        partitions: (t) => d.topics.get(t)?.partitions,
        create: async (t) => {
          await d.topics.create(t, { partitions: 1, replicationFactor: -1, config: { 'cleanup.policy': 'delete' } });
        },
        append: (t, p, batch, n) => {
          const leader = d.replication.partitionInfo(t, p)?.leader;
          if (d.produceRemote && leader !== undefined && leader >= 0 && leader !== d.nodeId) return d.produceRemote(leader, t, p, batch);
          return d.appendLocal(t, p, batch, n);
        },
      },
    }));
  }
  return sinks.length === 0 ? NO_AUDIT : fanOutAudit(sinks, d.nodeId);
}
