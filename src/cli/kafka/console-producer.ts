/**
 * kafka-console-producer.sh: one record per line of stdin, as Kafka's line reader reads them:
 * --property parse.key=true splits the key off at key.separator (default a tab), parse.headers=true
 * reads `k:v,k:v<TAB>` headers first, null.marker turns a key or value into null; an empty line is a
 * record with an empty value. Prints nothing on success; a failed send is reported on stderr and the
 * tool exits 1.
 */
import { Producer, type ProducerRecord } from '../../client/producer.js';
import { clientOptions } from '../common.js';
import { InFlight, producerSettings, stopOnSignals } from '../data-options.js';
import { readLines } from '../input.js';
import {
  clientFlags, keyValues, KafkaToolError, KafkaUsageError, producerFlags, readProperties, refuseZookeeper, requireOption, ZOOKEEPER_OPTION,
  type KafkaTool, type ParsedArgs,
} from './options.js';

interface LineReaderSettings {
  parseKey: boolean;
  keySeparator: string;
  parseHeaders: boolean;
  headersDelimiter: string;
  headersSeparator: string;
  headersKeySeparator: string;
  nullMarker: string | undefined;
  ignoreError: boolean;
}

function readerSettings(p: Record<string, string>): LineReaderSettings {
  return {
    parseKey: p['parse.key']?.toLowerCase() === 'true',
    keySeparator: p['key.separator'] ?? '\t',
    parseHeaders: p['parse.headers']?.toLowerCase() === 'true',
    headersDelimiter: p['headers.delimiter'] ?? '\t',
    headersSeparator: p['headers.separator'] ?? ',',
    headersKeySeparator: p['headers.key.separator'] ?? ':',
    nullMarker: p['null.marker'],
    ignoreError: p['ignore.error']?.toLowerCase() === 'true',
  };
}

/** One line into a record, as Kafka's LineMessageReader splits it (headers, then key, then value). */
export function parseLine(line: string, number: number, s: LineReaderSettings): Pick<ProducerRecord, 'key' | 'value' | 'headers'> {
  let rest = line;
  const headers: Array<{ key: string; value: string | null }> = [];
  if (s.parseHeaders) {
    const i = rest.indexOf(s.headersDelimiter);
    if (i < 0) {
      if (!s.ignoreError) throw new KafkaToolError(`No headers delimiter found on line number ${number}: '${line}'`);
    } else {
      const text = rest.slice(0, i);
      rest = rest.slice(i + s.headersDelimiter.length);
      if (text !== s.nullMarker && text !== '') {
        for (const h of text.split(s.headersSeparator)) {
          const k = h.indexOf(s.headersKeySeparator);
          const key = k < 0 ? h : h.slice(0, k);
          const value = k < 0 ? null : h.slice(k + s.headersKeySeparator.length);
          if (key === s.nullMarker) throw new KafkaToolError(`Header keys should not be equal to the null marker '${s.nullMarker}' as they can't be null`);
          headers.push({ key, value: value === s.nullMarker ? null : value });
        }
      }
    }
  }
  let key: string | null = null;
  if (s.parseKey) {
    const i = rest.indexOf(s.keySeparator);
    if (i < 0) {
      if (!s.ignoreError) throw new KafkaToolError(`No key separator found on line number ${number}: '${line}'`);
    } else {
      key = rest.slice(0, i);
      rest = rest.slice(i + s.keySeparator.length);
    }
  }
  const nul = (v: string | null): string | null => (v !== null && v === s.nullMarker ? null : v);
  return { key: nul(key), value: nul(rest), headers };
}

async function run(args: ParsedArgs): Promise<void> {
  refuseZookeeper(args);
  const topic = requireOption(args, 'topic');
  for (const unsupported of ['line-reader', 'reader-config']) {
    if (args.has(unsupported)) throw new KafkaToolError(`--${unsupported} is not supported: Tributary reads lines with Kafka's default line reader`);
  }
  const fileProps = args.has('producer.config') ? readProperties(args.value('producer.config')!) : {};
  const props: Record<string, string> = { ...fileProps };
  // The tool's own options, then --producer-property (Kafka applies the properties last).
  if (args.has('compression-codec')) props['compression.type'] = args.value('compression-codec') ?? 'gzip';
  if (args.has('request-required-acks')) props.acks = args.value('request-required-acks')!;
  if (args.has('timeout')) props['linger.ms'] = args.value('timeout')!;
  if (args.has('max-partition-memory-bytes')) props['batch.size'] = args.value('max-partition-memory-bytes')!;
  if (args.has('request-timeout-ms')) props['request.timeout.ms'] = args.value('request-timeout-ms')!;
  if (args.has('message-send-max-retries')) props.retries = args.value('message-send-max-retries')!;
  if (args.has('retry-backoff-ms')) props['retry.backoff.ms'] = args.value('retry-backoff-ms')!;
  Object.assign(props, keyValues(args.values('producer-property'), '--producer-property'));
  const reader = readerSettings(keyValues(args.values('property'), '--property'));
  const flags = clientFlags(args.value('bootstrap-server') ?? args.value('broker-list'), props);
  const sync = args.has('sync');
  const maxBlock = props['max.block.ms'] !== undefined ? Number(props['max.block.ms']) : undefined;
  const producer = new Producer({ ...clientOptions(flags), ...producerSettings(producerFlags(props, { lingerMs: sync ? 0 : 5 })), maxBlockMs: maxBlock });
  const stop = stopOnSignals();
  const inFlight = new InFlight();
  let failed = 0;
  try {
    await producer.connect();
    stop.signal.addEventListener('abort', () => process.stdin.destroy(), { once: true });
    try {
      for await (const line of readLines(process.stdin)) {
        if (stop.signal.aborted) break;
        const text = line.bytes.toString('utf8').replace(/\r$/, '');
        const record = { topic, ...parseLine(text, line.number, reader) };
        if (producer.bufferFull) await producer.waitForSpace();
        const sent = producer.send(record).catch((err: unknown) => {
          failed++;
          const size = record.value === null || record.value === undefined ? -1 : Buffer.byteLength(record.value as string);
          process.stderr.write(`ERROR Error when sending message to topic ${topic} with key: ${record.key === null ? 'null' : `${Buffer.byteLength(record.key as string)} bytes`}, value: ${size} bytes with error: ${err instanceof Error ? err.message : String(err)}\n`);
        });
        if (sync) await sent;
        else inFlight.track(sent, () => {});
        await inFlight.below(100_000);
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
    await producer.flush();
    await inFlight.drain();
  } finally {
    stop.dispose();
    await producer.close().catch(() => {});
  }
  if (failed > 0) throw new KafkaToolError(`${failed} record(s) could not be sent to ${topic}`);
}

const tool: KafkaTool = {
  description: 'Read lines from standard input and publish them to Kafka (Tributary).',
  specs: {
    'bootstrap-server': { arg: 'required', help: 'REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to.', metavar: 'String: server to connect to' },
    'broker-list': { arg: 'required', help: 'DEPRECATED, use --bootstrap-server instead.', metavar: 'String: broker-list' },
    topic: { arg: 'required', help: 'REQUIRED: The topic id to produce messages to.', metavar: 'String: topic' },
    property: { arg: 'required', help: 'Line reader properties: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, headers.key.separator, null.marker, ignore.error.', metavar: 'String: prop' },
    'producer-property': { arg: 'required', help: 'A producer property key=value (repeatable).', metavar: 'String: producer_prop' },
    'producer.config': { arg: 'required', help: 'Producer config properties file.', metavar: 'String: config file' },
    'compression-codec': { arg: 'optional', help: 'none, gzip, snappy, lz4, or zstd. Given without a value: gzip.', metavar: 'String: compression-codec' },
    'request-required-acks': { arg: 'required', help: 'The required acks of the producer requests (default: -1).', metavar: 'String: request required acks' },
    sync: { arg: 'none', help: 'Send each message synchronously, one at a time.' },
    timeout: { arg: 'required', help: 'linger.ms: how long a batch waits for more messages.', metavar: 'Long: timeout_ms' },
    'max-partition-memory-bytes': { arg: 'required', help: 'batch.size.', metavar: 'Integer: bytes' },
    'request-timeout-ms': { arg: 'required', help: 'request.timeout.ms.', metavar: 'Integer: request timeout ms' },
    'message-send-max-retries': { arg: 'required', help: 'retries.', metavar: 'Integer' },
    'retry-backoff-ms': { arg: 'required', help: 'retry.backoff.ms.', metavar: 'Long' },
    'line-reader': { arg: 'required', help: 'Not supported.', metavar: 'String: reader_class' },
    'reader-config': { arg: 'required', help: 'Not supported.', metavar: 'String: config file' },
    zookeeper: ZOOKEEPER_OPTION,
  },
  async run(args) {
    if (!args.has('bootstrap-server') && !args.has('broker-list')) throw new KafkaUsageError('Missing required argument "[bootstrap-server]"');
    await run(args);
  },
  errorText: (message) => `ERROR ${message}\n`,
};

export default tool;
