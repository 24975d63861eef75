/** `tributary topics alter`: set or remove topic configs with IncrementalAlterConfigs (kafka-configs --alter). */
import type { Command } from 'commander';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { collectConfig, collectList, explainTopicError, withAdmin } from './topics-common.js';

interface AlterFlags extends ClientFlags {
  topic: string;
  config: Record<string, string>;
  deleteConfig: string[];
}

export function registerTopicsAlter(topics: Command): void {
  const cmd = topics
    .command('alter')
    .description('Change topic configs: --config sets a key, --delete-config returns it to the default')
    .requiredOption('-t, --topic <topic>', 'the topic to change')
    .option('--config <key=value>', 'config to set (repeatable)', collectConfig, {})
    .option('--delete-config <key>', 'config to remove, back to the broker default (repeatable)', collectList, []);
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics alter --topic orders --config retention.ms=3600000
  $ tributary topics alter --topic orders --config cleanup.policy=compact --delete-config retention.ms

To change the partition count use \`tributary topics add-partitions\`.`)
    .action(action(async (opts: AlterFlags) => {
      if (Object.keys(opts.config).length === 0 && opts.deleteConfig.length === 0) {
        throw new UsageError('nothing to change: give --config key=value and/or --delete-config key');
      }
      await withAdmin(opts, async (admin) => {
        try {
          await admin.alterConfigs([{ type: 'topic', name: opts.topic, set: opts.config, delete: opts.deleteConfig }]);
        } catch (err) {
          explainTopicError(err, opts.topic);
        }
      });
      process.stdout.write(`Completed updating config for topic ${opts.topic}.\n`);
    }));
}
