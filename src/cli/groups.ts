/** `tributary groups …`: list, describe, reset offsets of and delete consumer groups (kafka-consumer-groups.sh's jobs). */
import type { Command } from 'commander';
import { registerGroupsList } from './groups-list.js';
import { registerGroupsDescribe } from './groups-describe.js';
import { registerGroupsResetOffsets } from './groups-reset-offsets.js';
import { registerGroupsDelete } from './groups-delete.js';

export function registerGroups(program: Command): void {
  const groups = program.command('groups').description('List, describe, reset offsets of and delete consumer groups');
  groups.addHelpText('after', `
Examples:
  $ tributary groups list
  $ tributary groups describe --group billing
  $ tributary groups reset-offsets --group billing --topic orders --to-earliest --execute`);
  registerGroupsList(groups);
  registerGroupsDescribe(groups);
  registerGroupsResetOffsets(groups);
  registerGroupsDelete(groups);
}
