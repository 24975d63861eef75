/**
 * kafka-producer-perf-test.sh over `tributary perf produce`: the same periodic and final lines
 * ("N records sent, X records/sec (Y MB/sec), … ms 99.9th."). Producer settings come from
 * --producer-props key=value … and --producer.config, bootstrap.servers included (or --bootstrap-server).
 */
import { perfProduce } from '../perf-produce.js';
import { clientFlags, keyValues, KafkaToolError, KafkaUsageError, producerFlags, readProperties, type KafkaTool, type ParsedArgs } from './options.js';

async function run(args: ParsedArgs): Promise<void> {
  for (const unsupported of ['payload-file', 'transactional-id', 'transaction-duration-ms']) {
    if (args.has(unsupported)) throw new KafkaToolError(`--${unsupported} is not supported by Tributary's producer perf test`);
  }
  for (const required of ['topic', 'num-records', 'throughput']) {
    if (!args.has(required)) throw new KafkaUsageError(`argument --${required} is required`);
  }
  if (!args.has('record-size')) throw new KafkaUsageError('Either --record-size or --payload-file must be specified but not both.');
  if (!args.has('producer-props') && !args.has('producer.config') && !args.has('bootstrap-server')) {
    throw new KafkaUsageError('Either --producer-props or --producer.config must be specified.');
  }
  const props = {
    ...(args.has('producer.config') ? readProperties(args.value('producer.config')!) : {}),
    ...keyValues(args.values('producer-props'), '--producer-props'),
  };
  const throughput = args.int('throughput')!;
  await perfProduce({
    ...clientFlags(args.value('bootstrap-server'), props),
    ...producerFlags(props),
    topic: args.value('topic')!,
    numRecords: args.int('num-records', 1)!,
    recordSize: args.int('record-size', 0)!,
    throughput: throughput <= 0 ? -1 : throughput,
    reportingInterval: args.int('reporting-interval', 1) ?? 5000,
    timeout: 600_000,
  });
}

const tool: KafkaTool = {
  description: 'This tool is used to verify the producer performance (Tributary).',
  specs: {
    topic: { arg: 'required', help: 'Produce messages to this topic.', metavar: 'TOPIC' },
    'num-records': { arg: 'required', help: 'Number of messages to produce.', metavar: 'NUM-RECORDS' },
    'record-size': { arg: 'required', help: 'Message size in bytes.', metavar: 'RECORD-SIZE' },
    throughput: { arg: 'required', help: 'Throttle maximum message throughput to *approximately* THROUGHPUT messages/sec. Set this to -1 to disable throttling.', metavar: 'THROUGHPUT' },
    'producer-props': { arg: 'multi', help: 'Kafka producer related configuration properties like bootstrap.servers,client.id etc.', metavar: 'PROP-NAME=PROP-VALUE ...' },
    'producer.config': { arg: 'required', help: 'Producer config properties file.', metavar: 'CONFIG-FILE' },
    'bootstrap-server': { arg: 'required', help: 'The server(s) to connect to (instead of bootstrap.servers in --producer-props).', metavar: 'BOOTSTRAP-SERVERS' },
    'reporting-interval': { arg: 'required', help: 'Interval in milliseconds at which to print progress info (default 5000).', metavar: 'INTERVAL-MS' },
    'print-metrics': { arg: 'none', help: 'Accepted and ignored.' },
    'payload-file': { arg: 'required', help: 'Not supported.', metavar: 'PAYLOAD-FILE' },
    'transactional-id': { arg: 'required', help: 'Not supported.', metavar: 'TRANSACTIONAL-ID' },
    'transaction-duration-ms': { arg: 'required', help: 'Not supported.', metavar: 'DURATION' },
  },
  run,
  errorText: (message) => `ERROR ${message}\n`,
};

export default tool;
