/** `tributary topics add-partitions`: raise a topic's partition count to a new total (kafka-topics --alter --partitions). */
import type { Command } from 'commander';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { explainTopicError, intOption, isKafkaError, withAdmin } from './topics-common.js';

interface AddPartitionsFlags extends ClientFlags {
  topic: string;
  partitions: number;
}

export function registerTopicsAddPartitions(topics: Command): void {
  const cmd = topics
    .command('add-partitions')
    .description('Raise a topic\'s partition count to --partitions (the new total; partitions can only be added)')
    .requiredOption('-t, --topic <topic>', 'the topic to grow')
    .requiredOption('--partitions <n>', 'the new total number of partitions', intOption('--partitions', 1));
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics add-partitions --topic orders --partitions 12

Keys hash to partitions by count, so adding partitions moves where new records with a given key go.`)
    .action(action(async (opts: AddPartitionsFlags) => {
      await withAdmin(opts, async (admin) => {
        try {
          await admin.createPartitions([{ topic: opts.topic, count: opts.partitions }]);
        } catch (err) {
          if (isKafkaError(err, 'INVALID_PARTITIONS')) {
            const [t] = await admin.describeTopics([opts.topic]);
            throw new Error(`topic '${opts.topic}' has ${t.partitions.length} partitions; --partitions must be larger (partitions can be added, never removed)`);
          }
          explainTopicError(err, opts.topic);
        }
      });
      process.stdout.write(`Topic ${opts.topic} now has ${opts.partitions} partitions.\n`);
    }));
}
