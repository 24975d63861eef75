/**
 * kafka-console-consumer.sh over `tributary consume`'s loop: it follows the topic (from the end, or the
 * beginning with --from-beginning) until --max-messages, --timeout-ms or Ctrl-C, then prints
 * "Processed a total of N messages" on stderr. Records print as Kafka's DefaultMessageFormatter does:
 * the value per line, and with --property print.timestamp / print.partition / print.offset /
 * print.headers / print.key the fields before it, in that order, separated by key.separator.
 */
import type { ConsumerRecord } from '../../client/consumer.js';
import { consume, type ConsumeFlags } from '../consume.js';
import { deserializer, type DeserializerName } from '../format.js';
import {
  clientFlags, keyValues, KafkaToolError, KafkaUsageError, readProperties, refuseZookeeper, ZOOKEEPER_OPTION, type KafkaTool, type ParsedArgs,
} from './options.js';

export interface FormatterSettings {
  printTimestamp: boolean;
  printPartition: boolean;
  printOffset: boolean;
  printHeaders: boolean;
  printKey: boolean;
  printValue: boolean;
  keySeparator: string;
  lineSeparator: string;
  headersSeparator: string;
  headersKeySeparator: string;
  nullLiteral: string;
  key: DeserializerName;
  value: DeserializerName;
  headers: DeserializerName;
}

const isTrue = (v: string | undefined): boolean => v?.trim().toLowerCase() === 'true';

export function formatterSettings(p: Record<string, string>, key: DeserializerName, value: DeserializerName): FormatterSettings {
  const headers = p['headers.deserializer'] !== undefined ? deserializerName(p['headers.deserializer']) : 'string';
  return {
    printTimestamp: isTrue(p['print.timestamp']),
    printPartition: isTrue(p['print.partition']),
    printOffset: isTrue(p['print.offset']),
    printHeaders: isTrue(p['print.headers']),
    printKey: isTrue(p['print.key']),
    printValue: p['print.value'] === undefined || isTrue(p['print.value']),
    keySeparator: p['key.separator'] ?? '\t',
    lineSeparator: p['line.separator'] ?? '\n',
    headersSeparator: p['headers.separator'] ?? ',',
    headersKeySeparator: p['headers.key.separator'] ?? ':',
    nullLiteral: p['null.literal'] ?? 'null',
    key,
    value,
    headers,
  };
}

/** Kafka's deserializer classes, by their simple name, onto the ways `tributary consume` shows bytes. */
export function deserializerName(className: string): DeserializerName {
  const simple = className.slice(className.lastIndexOf('.') + 1);
  switch (simple) {
    case 'StringDeserializer':
    case 'ByteArrayDeserializer':
    case 'ByteBufferDeserializer':
    case 'BytesDeserializer':
      return 'string';
    case 'IntegerDeserializer':
      return 'int32';
    case 'LongDeserializer':
      return 'int64';
    default:
      throw new KafkaToolError(`deserializer ${className} is not supported: use StringDeserializer, ByteArrayDeserializer, IntegerDeserializer or LongDeserializer`);
  }
}

/** Kafka's DefaultMessageFormatter as a function from a record to the bytes to print. */
export function kafkaFormatter(s: FormatterSettings): (r: ConsumerRecord) => Buffer {
  const keyOf = deserializer(s.key, 'key');
  const valueOf = deserializer(s.value, 'value');
  const headerOf = deserializer(s.headers, 'value');
  const keySep = Buffer.from(s.keySeparator);
  const lineSep = Buffer.from(s.lineSeparator);
  const nullBytes = Buffer.from(s.nullLiteral);
  return (r) => {
    const out: Buffer[] = [];
    const fields: Array<() => void> = [];
    const bytes = (b: Buffer | null, how: typeof keyOf): Buffer => (b === null ? nullBytes : how ? how(b, r) : b);
    if (s.printTimestamp) fields.push(() => out.push(Buffer.from(r.timestamp >= 0 ? `${r.timestampType}:${r.timestamp}` : 'NO_TIMESTAMP')));
    if (s.printPartition) fields.push(() => out.push(Buffer.from(`Partition:${r.partition}`)));
    if (s.printOffset) fields.push(() => out.push(Buffer.from(`Offset:${r.offset}`)));
    if (s.printHeaders) {
      fields.push(() => {
        if (r.headers.length === 0) {
          out.push(Buffer.from('NO_HEADERS'));
          return;
        }
        r.headers.forEach((h, i) => {
          if (i > 0) out.push(Buffer.from(s.headersSeparator));
          out.push(Buffer.from(h.key), Buffer.from(s.headersKeySeparator), bytes(h.value, headerOf));
        });
      });
    }
    if (s.printKey) fields.push(() => out.push(bytes(r.key, keyOf)));
    if (s.printValue) fields.push(() => out.push(bytes(r.value, valueOf)));
    // Fields are separated by key.separator; the last one printed ends with line.separator.
    fields.forEach((write, i) => {
      write();
      out.push(i < fields.length - 1 ? keySep : lineSep);
    });
    return Buffer.concat(out);
  };
}

async function run(args: ParsedArgs): Promise<void> {
  refuseZookeeper(args);
  for (const unsupported of ['include', 'whitelist']) {
    if (args.has(unsupported)) throw new KafkaToolError(`--${unsupported} is not supported: name one topic with --topic`);
  }
  const topic = args.value('topic');
  if (topic === undefined) throw new KafkaUsageError('Exactly one of --include/--topic is required.');
  const formatterClass = args.value('formatter');
  if (formatterClass !== undefined && !formatterClass.endsWith('DefaultMessageFormatter')) {
    throw new KafkaToolError(`--formatter ${formatterClass} is not supported: Tributary prints with Kafka's DefaultMessageFormatter`);
  }
  const props = {
    ...(args.has('consumer.config') ? readProperties(args.value('consumer.config')!) : {}),
    ...keyValues(args.values('consumer-property'), '--consumer-property'),
  };
  const group = args.value('group') ?? props['group.id'];
  const partition = args.int('partition', 0);
  const offsetArg = args.value('offset');
  if (offsetArg !== undefined && partition === undefined) throw new KafkaUsageError('The partition is required when offset is specified.');
  if (partition !== undefined && group !== undefined) throw new KafkaUsageError('Options group and partition cannot be specified together.');
  if (offsetArg !== undefined && args.has('from-beginning')) throw new KafkaUsageError('Options from-beginning and offset cannot be specified together.');
  let offset: string | undefined;
  if (offsetArg !== undefined) {
    const o = offsetArg.trim().toLowerCase();
    if (o === 'earliest') offset = 'beginning';
    else if (o === 'latest') offset = 'end';
    else if (/^\d+$/.test(o)) offset = o;
    else throw new KafkaUsageError(`The provided offset value '${offsetArg}' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.`);
  }
  const fmtProps = keyValues(args.values('property'), '--property');
  const keyClass = args.value('key-deserializer') ?? fmtProps['key.deserializer'];
  const valueClass = args.value('value-deserializer') ?? fmtProps['value.deserializer'];
  const settings = formatterSettings(fmtProps, keyClass ? deserializerName(keyClass) : 'string', valueClass ? deserializerName(valueClass) : 'string');
  const isolation = (args.value('isolation-level') ?? props['isolation.level'] ?? 'read_uncommitted').toLowerCase();
  if (isolation !== 'read_committed' && isolation !== 'read_uncommitted') {
    throw new KafkaUsageError(`--isolation-level must be read_committed or read_uncommitted, got '${isolation}'`);
  }
  const fromBeginning = args.has('from-beginning') || (group !== undefined && props['auto.offset.reset'] === 'earliest');
  const flags: ConsumeFlags = {
    ...clientFlags(args.value('bootstrap-server') ?? args.value('broker-list'), props),
    topic,
    group,
    fromBeginning: fromBeginning || undefined,
    offset,
    partition,
    maxMessages: args.int('max-messages', 1),
    follow: true,
    isolationLevel: isolation as ConsumeFlags['isolationLevel'],
    timeoutMs: args.int('timeout-ms', 1),
    keyDeserializer: settings.key,
    valueDeserializer: settings.value,
  };
  await consume(flags, kafkaFormatter(settings));
}

const tool: KafkaTool = {
  description: 'Consume messages from a topic and print them to standard output (Tributary).',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED: The server(s) to connect to.', metavar: 'String: server to connect to' },
    topic: { arg: 'required', help: 'The topic to consume on.', metavar: 'String: topic' },
    group: { arg: 'required', help: 'The consumer group id of the consumer.', metavar: 'String: consumer group id' },
    'from-beginning': { arg: 'none', help: 'If the consumer does not already have an established offset to consume from, start with the earliest message present in the log rather than the latest message.' },
    partition: { arg: 'required', help: 'The partition to consume from. Consumption starts from the end of the partition unless \'--offset\' is specified.', metavar: 'Integer: partition' },
    offset: { arg: 'required', help: 'The offset to consume from (a non-negative number), or \'earliest\' / \'latest\' (default).', metavar: 'String: consume offset' },
    'max-messages': { arg: 'required', help: 'The maximum number of messages to consume before exiting. If not set, consumption is continual.', metavar: 'Integer: num_messages' },
    'timeout-ms': { arg: 'required', help: 'If specified, exit if no message is available for consumption for the specified interval.', metavar: 'Integer: timeout_ms' },
    property: { arg: 'required', help: 'Formatter properties: print.timestamp, print.key, print.offset, print.partition, print.headers, print.value, key.separator, line.separator, headers.separator, headers.key.separator, null.literal, key.deserializer, value.deserializer, headers.deserializer.', metavar: 'String: prop' },
    'consumer-property': { arg: 'required', help: 'A consumer property key=value (repeatable).', metavar: 'String: consumer_prop' },
    'consumer.config': { arg: 'required', help: 'Consumer config properties file.', metavar: 'String: config file' },
    'isolation-level': { arg: 'required', help: 'read_committed to hide aborted and open transactions; read_uncommitted (default) to read everything.', metavar: 'String' },
    'key-deserializer': { arg: 'required', help: 'StringDeserializer (default), ByteArrayDeserializer, IntegerDeserializer or LongDeserializer.', metavar: 'String: deserializer for key' },
    'value-deserializer': { arg: 'required', help: 'StringDeserializer (default), ByteArrayDeserializer, IntegerDeserializer or LongDeserializer.', metavar: 'String: deserializer for values' },
    formatter: { arg: 'required', help: 'Only the DefaultMessageFormatter is supported.', metavar: 'String: class' },
    'skip-message-on-error': { arg: 'none', help: 'Accepted and ignored.' },
    include: { arg: 'required', help: 'Not supported: use --topic.', metavar: 'String' },
    whitelist: { arg: 'required', help: 'Not supported: use --topic.', metavar: 'String' },
    'broker-list': { arg: 'required', help: 'DEPRECATED, use --bootstrap-server instead.', metavar: 'String' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  run,
  errorText: (message) => `ERROR ${message}\n`,
};

export default tool;
