/** `tributary topics create`: one topic, with partitions, replication factor and configs (kafka-topics --create). */
import type { Command } from 'commander';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { collectConfig, intOption, isKafkaError, withAdmin } from './topics-common.js';

interface CreateFlags extends ClientFlags {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  config: Record<string, string>;
  ifNotExists?: boolean;
}

export function registerTopicsCreate(topics: Command): void {
  const cmd = topics
    .command('create')
    .description('Create a topic (partitions and replication factor default to the broker\'s num.partitions and default.replication.factor)')
    .requiredOption('-t, --topic <topic>', 'name of the topic to create')
    .option('--partitions <n>', 'number of partitions', intOption('--partitions', 1))
    .option('--replication-factor <n>', 'replicas per partition', intOption('--replication-factor', 1))
    .option('--config <key=value>', 'topic config (repeatable), e.g. retention.ms=86400000, cleanup.policy=compact', collectConfig, {})
    .option('--if-not-exists', 'succeed quietly when the topic already exists');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics create --topic orders
  $ tributary topics create --topic orders --partitions 6 --replication-factor 1
  $ tributary topics create --topic users --config cleanup.policy=compact --config retention.ms=-1 --if-not-exists`)
    .action(action(async (opts: CreateFlags) => {
      const created = await withAdmin(opts, async (admin) => {
        try {
          await admin.createTopics([{ name: opts.topic, numPartitions: opts.partitions, replicationFactor: opts.replicationFactor, configs: opts.config }]);
          return true;
        } catch (err) {
          if (!isKafkaError(err, 'TOPIC_ALREADY_EXISTS')) throw err;
          if (opts.ifNotExists) return false;
          throw new Error(`topic '${opts.topic}' already exists — see it with \`tributary topics describe --topic ${opts.topic}\`, or pass --if-not-exists`);
        }
      });
      if (created) process.stdout.write(`Created topic ${opts.topic}.\n`);
    }));
}
