/**
 * kafka-consumer-perf-test.sh over `tributary perf consume`: reads --messages records from the
 * beginning and prints Kafka's header and result row (start.time, end.time, data.consumed.in.MB, …).
 */
import { perfConsume } from '../perf-consume.js';
import {
  clientFlags, keyValues, KafkaToolError, readProperties, refuseZookeeper, requireOption, ZOOKEEPER_OPTION, type KafkaTool, type ParsedArgs,
} from './options.js';

async function run(args: ParsedArgs): Promise<void> {
  refuseZookeeper(args);
  for (const unsupported of ['from-latest', 'show-detailed-stats', 'date-format']) {
    if (args.has(unsupported)) throw new KafkaToolError(`--${unsupported} is not supported by Tributary's consumer perf test`);
  }
  const topic = requireOption(args, 'topic');
  requireOption(args, 'messages');
  const props = {
    ...(args.has('consumer.config') ? readProperties(args.value('consumer.config')!) : {}),
    ...(args.has('command-config') ? readProperties(args.value('command-config')!) : {}),
    ...keyValues(args.values('consumer-property'), '--consumer-property'),
  };
  await perfConsume({
    ...clientFlags(args.value('bootstrap-server') ?? args.value('broker-list'), props),
    topic,
    messages: args.int('messages', 1)!,
    group: args.value('group') ?? props['group.id'],
    timeout: args.int('timeout', 1) ?? 10_000,
    hideHeader: args.has('hide-header') || undefined,
    maxPartitionFetchBytes: args.int('fetch-size', 1),
  });
}

const tool: KafkaTool = {
  description: 'This tool is used to verify the consumer performance (Tributary).',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to.', metavar: 'String: server to connect to' },
    'broker-list': { arg: 'required', help: 'DEPRECATED, use --bootstrap-server instead.', metavar: 'String: broker-list' },
    topic: { arg: 'required', help: 'REQUIRED: The topic to consume from.', metavar: 'String: topic' },
    messages: { arg: 'required', help: 'REQUIRED: The number of messages to consume.', metavar: 'Long: count' },
    group: { arg: 'required', help: 'The group id to consume on (default: no group, every partition assigned).', metavar: 'String: gid' },
    'fetch-size': { arg: 'required', help: 'The amount of data to fetch in a single request (max.partition.fetch.bytes).', metavar: 'Integer: size' },
    timeout: { arg: 'required', help: 'The maximum allowed time in milliseconds between returned records (default: 10000).', metavar: 'Long: milliseconds' },
    'hide-header': { arg: 'none', help: 'If set, skips printing the header for the stats.' },
    'consumer.config': { arg: 'required', help: 'Consumer config properties file.', metavar: 'String: config file' },
    'command-config': { arg: 'required', help: 'Consumer config properties file.', metavar: 'String: config file' },
    'consumer-property': { arg: 'required', help: 'A consumer property key=value (repeatable).', metavar: 'String: prop' },
    'print-metrics': { arg: 'none', help: 'Accepted and ignored.' },
    threads: { arg: 'required', help: 'Accepted and ignored (deprecated in Kafka).', metavar: 'Integer: count' },
    'num-fetch-threads': { arg: 'required', help: 'Accepted and ignored (deprecated in Kafka).', metavar: 'Integer: count' },
    'socket-buffer-size': { arg: 'required', help: 'Accepted and ignored.', metavar: 'Integer: size' },
    'reporting-interval': { arg: 'required', help: 'Accepted and ignored (used with --show-detailed-stats).', metavar: 'Integer: interval_ms' },
    'from-latest': { arg: 'none', help: 'Not supported.' },
    'show-detailed-stats': { arg: 'none', help: 'Not supported.' },
    'date-format': { arg: 'required', help: 'Not supported.', metavar: 'String: date format' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  run,
  errorText: (message) => `ERROR ${message}\n`,
};

export default tool;
