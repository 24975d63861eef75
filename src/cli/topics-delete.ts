/** `tributary topics delete`: delete a topic and its data (kafka-topics --delete). */
import type { Command } from 'commander';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { isKafkaError, withAdmin } from './topics-common.js';

interface DeleteFlags extends ClientFlags {
  topic: string;
  ifExists?: boolean;
}

export function registerTopicsDelete(topics: Command): void {
  const cmd = topics
    .command('delete')
    .description('Delete a topic and all of its records')
    .requiredOption('-t, --topic <topic>', 'the topic to delete')
    .option('--if-exists', 'succeed quietly when the topic does not exist');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary topics delete --topic orders
  $ tributary topics delete --topic scratch --if-exists`)
    .action(action(async (opts: DeleteFlags) => {
      const deleted = await withAdmin(opts, async (admin) => {
        try {
          await admin.deleteTopics([opts.topic]);
          return true;
        } catch (err) {
          if (!isKafkaError(err, 'UNKNOWN_TOPIC_OR_PARTITION')) throw err;
          if (opts.ifExists) return false;
          throw new Error(`topic '${opts.topic}' does not exist — list topics with \`tributary topics list\`, or pass --if-exists`);
        }
      });
      if (deleted) process.stdout.write(`Deleted topic ${opts.topic}.\n`);
    }));
}
