/** `tributary topics list`: every topic name, one per line, sorted (kafka-topics --list). */
import type { Command } from 'commander';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { withAdmin } from './topics-common.js';

export function registerTopicsList(topics: Command): void {
  const cmd = topics
    .command('list')
    .description('List topic names, one per line, sorted')
    .option('--exclude-internal', 'leave out internal topics (__consumer_offsets, __transaction_state)');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics list
  $ tributary topics list --exclude-internal -b broker1:9092`)
    .action(action(async (opts: ClientFlags & { excludeInternal?: boolean }) => {
      const names = await withAdmin(opts, (admin) => admin.listTopics({ includeInternal: opts.excludeInternal !== true }));
      if (names.length > 0) process.stdout.write(names.join('\n') + '\n');
    }));
}
