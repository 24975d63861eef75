/**
 * `tributary topics describe`: kafka-topics --describe's exact layout, a line per topic (id, partition
 * count, replication factor, configs that differ from the defaults) and a tab-indented line per partition.
 */
import type { Command } from 'commander';
import type { TopicDescription } from '../client/admin.js';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { explainTopicError, kafkaUuid, withAdmin } from './topics-common.js';

interface DescribeFlags extends ClientFlags {
  topic?: string;
  excludeInternal?: boolean;
}

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

export function formatTopicDescription(t: TopicDescription, configs: Array<{ name: string; value: string | null }>): string {
  const head = [`Topic: ${t.name}`];
  if (t.topicId !== ZERO_UUID) head.push(`TopicId: ${kafkaUuid(t.topicId)}`);
  head.push(`PartitionCount: ${t.partitions.length}`);
  head.push(`ReplicationFactor: ${t.partitions[0]?.replicas.length ?? 0}`);
  head.push(`Configs: ${configs.map((c) => `${c.name}=${c.value}`).join(',')}`);
  const lines = [head.join('\t')];
  for (const p of t.partitions) {
    lines.push([
      '', `Topic: ${t.name}`, `Partition: ${p.partition}`, `Leader: ${p.leader >= 0 ? p.leader : 'none'}`,
      `Replicas: ${p.replicas.join(',')}`, `Isr: ${p.isr.join(',')}`,
      ...(p.offlineReplicas.length > 0 ? [`Offline: ${p.offlineReplicas.join(',')}`] : []),
    ].join('\t'));
  }
  return lines.join('\n') + '\n';
}

export function registerTopicsDescribe(topics: Command): void {
  const cmd = topics
    .command('describe')
    .description('Describe a topic (or every topic): partitions, leaders, replicas, ISR and non-default configs')
    .option('-t, --topic <topic>', 'the topic to describe (default: all topics)')
    .option('--exclude-internal', 'when describing all topics, leave out internal ones');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics describe --topic orders
  $ tributary topics describe --exclude-internal

Output (tab-separated, as kafka-topics --describe):
  Topic: orders	TopicId: NPmZHyhbR9y00wMglMH2sg	PartitionCount: 3	ReplicationFactor: 1	Configs: retention.ms=86400000
  	Topic: orders	Partition: 0	Leader: 1	Replicas: 1	Isr: 1`)
    .action(action(async (opts: DescribeFlags) => {
      const out = await withAdmin(opts, async (admin) => {
        let described: TopicDescription[];
        try {
          described = await admin.describeTopics(opts.topic === undefined ? undefined : [opts.topic]);
        } catch (err) {
          explainTopicError(err, opts.topic ?? '');
        }
        if (opts.topic === undefined && opts.excludeInternal) described = described.filter((t) => !t.isInternal);
        if (described.length === 0) return '';
        const configs = await admin.describeConfigs(described.map((t) => ({ type: 'topic' as const, name: t.name })));
        return described.map((t, i) => formatTopicDescription(t, configs[i].configs.filter((c) => !c.isDefault))).join('');
      });
      process.stdout.write(out);
    }));
}
