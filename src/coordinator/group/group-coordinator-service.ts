/**
 * Wires the classic group coordinator for a broker: the state machine, its runtime over
 * `__consumer_offsets`, and the broker config keys (Kafka's names and defaults) that shape both.
 */
import type { Logger } from '../../logger.js';
import type { TopicManager } from '../../server/topic-manager.js';
import { CoordinatorRuntime } from '../runtime.js';
import type { Scheduler } from '../scheduler.js';
import { TopicCoordinatorLog } from '../topic-log.js';
import { GroupCoordinator, type GroupCoordinatorConfig } from './group-coordinator.js';
import { groupRecordSerde, type GroupRecord } from './group-records.js';

export const GROUP_METADATA_TOPIC = '__consumer_offsets';

export function groupCoordinatorConfig(config: ReadonlyMap<string, string>): GroupCoordinatorConfig {
  const num = (key: string): number => Number(config.get(key));
  return {
    initialRebalanceDelayMs: num('group.initial.rebalance.delay.ms'),
    minSessionTimeoutMs: num('group.min.session.timeout.ms'),
    maxSessionTimeoutMs: num('group.max.session.timeout.ms'),
    maxGroupSize: num('group.max.size'),
    offsetsRetentionMs: num('offsets.retention.minutes') * 60_000,
    offsetsRetentionCheckIntervalMs: num('offsets.retention.check.interval.ms'),
    offsetMetadataMaxBytes: num('offset.metadata.max.bytes'),
  };
}

export class GroupCoordinatorService {
  readonly runtime: CoordinatorRuntime<GroupRecord>;
  readonly coordinator: GroupCoordinator;

  constructor(topics: TopicManager, config: ReadonlyMap<string, string>, private readonly scheduler: Scheduler, logger?: Logger) {
    const log = new TopicCoordinatorLog(topics, GROUP_METADATA_TOPIC, Number(config.get('offsets.topic.num.partitions')), {
      'cleanup.policy': 'compact',
      'segment.bytes': config.get('offsets.topic.segment.bytes') ?? '104857600',
    }, scheduler.now);
    this.runtime = new CoordinatorRuntime(log, groupRecordSerde, scheduler, logger);
    this.coordinator = new GroupCoordinator(this.runtime.timers, groupCoordinatorConfig(config));
    this.runtime.bind(this.coordinator);
  }

  /** Stops every coordinator timer (broker shutdown). */
  close(): void {
    this.scheduler.cancelAll();
  }
}
