/**
 * `tributary groups list`: group ids one per line (kafka-consumer-groups --list), or a GROUP [TYPE] STATE
 * table with --state / --type, filtered by their values when given.
 */
import type { Command } from 'commander';
import { formatTable } from '../util/format-table.js';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { withAdmin } from './topics-common.js';

interface ListFlags extends ClientFlags {
  state?: string | true;
  type?: string | true;
}

const split = (v: string | true | undefined): string[] => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : []);

export function registerGroupsList(groups: Command): void {
  const cmd = groups
    .command('list')
    .description('List consumer groups: names, or a table with their state and type')
    .option('--state [states]', 'show each group\'s state; with a value (comma-separated, case-insensitive) only groups in those states')
    .option('--type [types]', 'show each group\'s type (classic, consumer); with a value only groups of those types');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary groups list
  $ tributary groups list --state
  $ tributary groups list --state Stable,Empty
  $ tributary groups list --type consumer --state`)
    .action(action(async (opts: ListFlags) => {
      const listed = await withAdmin(opts, (admin) => admin.listGroups({ states: split(opts.state), types: split(opts.type) }));
      if (opts.state === undefined && opts.type === undefined) {
        if (listed.length > 0) process.stdout.write(listed.map((g) => g.groupId).join('\n') + '\n');
        return;
      }
      const header = ['GROUP', ...(opts.type !== undefined ? ['TYPE'] : []), ...(opts.state !== undefined ? ['STATE'] : [])];
      const rows = listed.map((g) => [g.groupId, ...(opts.type !== undefined ? [g.type || '-'] : []), ...(opts.state !== undefined ? [g.state || '-'] : [])]);
      process.stdout.write(formatTable(header, rows));
    }));
}
