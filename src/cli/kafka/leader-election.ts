/**
 * kafka-leader-election.sh: ElectLeaders (PREFERRED or UNCLEAN) for one partition (--topic and --partition), the
 * partitions of a JSON file (--path-to-json-file, Kafka's {"partitions":[{"topic":…,"partition":…}]}) or every
 * partition (--all-topic-partitions), printing Kafka's three lines: elected, already elected, failed (exit 1).
 */
import { readFileSync } from 'node:fs';
import type { PartitionResult } from '../../client/admin.js';
import { withAdmin } from '../topics-common.js';
import { clientFlags, KafkaToolError, KafkaUsageError, readProperties, requireOption, type KafkaTool } from './options.js';

/** Kafka's exception class for an error name (UNKNOWN_TOPIC_OR_PARTITION → …UnknownTopicOrPartitionException). */
export function exceptionName(error: string): string {
  const camel = error.toLowerCase().split('_').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return `org.apache.kafka.common.errors.${camel}Exception`;
}

function readPartitionsFile(path: string): Array<{ topic: string; partition: number }> {
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KafkaToolError(`Unable to read the partitions file ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const list = (doc as { partitions?: unknown }).partitions;
  if (!Array.isArray(list)) throw new KafkaToolError(`Invalid partitions file ${path}: expected {"partitions": [{"topic": "…", "partition": 0}, …]}`);
  const out = list.map((p: { topic?: unknown; partition?: unknown }) => {
    if (typeof p?.topic !== 'string' || !Number.isInteger(p.partition)) throw new KafkaToolError(`Invalid partition entry in ${path}: ${JSON.stringify(p)}`);
    return { topic: p.topic, partition: p.partition as number };
  });
  const seen = new Set<string>();
  for (const p of out) {
    const k = `${p.topic}-${p.partition}`;
    if (seen.has(k)) throw new KafkaToolError(`Replica election data contains duplicate partitions: ${k}`);
    seen.add(k);
  }
  return out;
}

const tool: KafkaTool = {
  description: 'This tool attempts to elect a new leader for a set of topic partitions. The type of elections supported are preferred replicas and unclean replicas.',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'A hostname and port for the broker to connect to, in the form host:port. Multiple comma separated URLs can be given. REQUIRED.', metavar: 'String: host:port' },
    'admin.config': { arg: 'required', help: 'Configuration properties files to pass to the admin client', metavar: 'String: config file' },
    'election-type': { arg: 'required', help: 'Type of election to attempt. Possible values are "preferred" for preferred leader election or "unclean" for unclean leader election. REQUIRED.', metavar: '[PREFERRED,UNCLEAN]: election type' },
    topic: { arg: 'required', help: 'Name of topic for which to perform an election. Not allowed if --path-to-json-file or --all-topic-partitions is specified.', metavar: 'String: topic name' },
    partition: { arg: 'required', help: 'Partition id for which to perform an election. REQUIRED if --topic is specified.', metavar: 'Integer: partition id' },
    'path-to-json-file': { arg: 'required', help: 'The JSON file with the list of partition for which leader elections should be performed. Not allowed if --all-topic-partitions or --topic flags are specified.', metavar: 'String: Path to JSON file' },
    'all-topic-partitions': { arg: 'none', help: 'Perform election on all of the eligible topic partitions based on the type of election (see the --election-type flag). Not allowed if --topic or --path-to-json-file is specified.' },
  },
  async run(args) {
    const bootstrap = requireOption(args, 'bootstrap-server');
    const typeText = requireOption(args, 'election-type').toUpperCase();
    if (typeText !== 'PREFERRED' && typeText !== 'UNCLEAN') throw new KafkaUsageError(`Invalid election type '${args.value('election-type')}': one of PREFERRED, UNCLEAN`);
    const sources = ['topic', 'path-to-json-file', 'all-topic-partitions'].filter((o) => args.has(o));
    if (sources.length !== 1) throw new KafkaUsageError('One and only one of the following options is required: --all-topic-partitions, --topic, --path-to-json-file');
    if (args.has('partition') && !args.has('topic')) throw new KafkaUsageError('Option --partition is only allowed with --topic');
    let partitions: Array<{ topic: string; partition: number }> | null = null;
    if (args.has('topic')) {
      if (!args.has('partition')) throw new KafkaUsageError('Missing required option(s) [partition]');
      partitions = [{ topic: args.value('topic')!, partition: args.int('partition', 0)! }];
    } else if (args.has('path-to-json-file')) {
      partitions = readPartitionsFile(args.value('path-to-json-file')!);
    }
    const props = args.has('admin.config') ? readProperties(args.value('admin.config')!) : {};
    const results = await withAdmin(clientFlags(bootstrap, props), (admin) => admin.electLeaders(typeText, partitions));
    printResults(typeText, results);
  },
  errorText: (message) => `Error while making request\n${message}\n`,
};

function printResults(type: string, results: PartitionResult[]): void {
  const name = (r: PartitionResult): string => `${r.topic}-${r.partition}`;
  const succeeded = results.filter((r) => r.error === null);
  const noop = results.filter((r) => r.error === 'ELECTION_NOT_NEEDED');
  const failed = results.filter((r) => r.error !== null && r.error !== 'ELECTION_NOT_NEEDED');
  if (succeeded.length > 0) process.stdout.write(`Successfully completed leader election (${type}) for partitions ${succeeded.map(name).join(', ')}\n`);
  if (noop.length > 0) process.stdout.write(`Valid replica already elected for partitions ${noop.map(name).join(', ')}\n`);
  if (failed.length > 0) {
    for (const r of failed) process.stdout.write(`Error completing leader election (${type}) for partition: ${name(r)}: ${exceptionName(r.error!)}${r.message ? `: ${r.message}` : ''}\n`);
    throw new KafkaToolError(`${failed.length} replica(s) could not be elected`);
  }
}

export default tool;
