/** `tributary groups delete`: delete empty groups and their committed offsets (kafka-consumer-groups --delete). */
import type { Command } from 'commander';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { collectList, withAdmin } from './topics-common.js';

interface DeleteFlags extends ClientFlags {
  group: string[];
}

export function registerGroupsDelete(groups: Command): void {
  const cmd = groups
    .command('delete')
    .description('Delete consumer groups (they must have no active members) and their committed offsets')
    .requiredOption('-g, --group <group>', 'group to delete (repeatable)', collectList, []);
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary groups delete --group billing
  $ tributary groups delete --group old-1 --group old-2`)
    .action(action(async (opts: DeleteFlags) => {
      const ids = [...new Set(opts.group)];
      // One request per group, so each group's outcome can be reported (as kafka-consumer-groups does).
      const settled = await withAdmin(opts, (admin) => Promise.allSettled(ids.map((g) => admin.deleteGroups([g]))));
      const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [[ids[i], s.reason instanceof Error ? s.reason.message : String(s.reason)] as const] : []));
      if (failed.length === 0) {
        process.stdout.write(`Deletion of requested consumer groups (${ids.map((g) => `'${g}'`).join(', ')}) was successful.\n`);
        return;
      }
      const ok = ids.filter((g) => !failed.some(([f]) => f === g));
      if (ok.length > 0) process.stdout.write(`These consumer groups were deleted successfully: ${ok.map((g) => `'${g}'`).join(', ')}\n`);
      throw new Error(`Deletion of some consumer groups failed:\n${failed.map(([g, m]) => `* Group '${g}' could not be deleted due to: ${m}`).join('\n')}`);
    }));
}
