/** `tributary topics …`: list, create, describe, alter, delete and add partitions (kafka-topics.sh's jobs). */
import type { Command } from 'commander';
import { registerTopicsList } from './topics-list.js';
import { registerTopicsCreate } from './topics-create.js';
import { registerTopicsDescribe } from './topics-describe.js';
import { registerTopicsAlter } from './topics-alter.js';
import { registerTopicsDelete } from './topics-delete.js';
import { registerTopicsAddPartitions } from './topics-add-partitions.js';

export function registerTopics(program: Command): void {
  const topics = program.command('topics').description('Create, list, describe, alter and delete topics');
  topics.addHelpText('after', `
Examples:
  $ tributary topics list
  $ tributary topics create --topic orders --partitions 6 --config retention.ms=86400000
  $ tributary topics describe --topic orders`);
  registerTopicsList(topics);
  registerTopicsCreate(topics);
  registerTopicsDescribe(topics);
  registerTopicsAlter(topics);
  registerTopicsDelete(topics);
  registerTopicsAddPartitions(topics);
}
