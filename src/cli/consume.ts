/**
 * `tributary consume`: print a topic's records, like kafka-console-consumer and kcat -C. Without
 * --follow it stops at the partitions' ends as they were at start-up (kcat -e); with --follow it runs
 * until Ctrl-C / SIGTERM or --max-messages. Either way it then commits (with --group) and closes, and
 * reports "Processed a total of N messages" on stderr.
 */
import { Option, type Command } from 'commander';
import { Admin } from '../client/admin.js';
import { Consumer, type ConsumerRecord, type TopicPartition } from '../client/consumer.js';
import { ProtocolError } from '../client/errors.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { addClientFlags, action, clientOptions, UsageError, type ClientFlags } from './common.js';
import { unknownTopicError } from './topics-common.js';
import { intArg, parseTimestamp, stopOnSignals, writeOut } from './data-options.js';
import { addSchemaValueFlags, valueDecoder, type SchemaValueFlags } from './schema-values.js';
import { compileFormat, DESERIALIZERS, formatJson, formatValueLine, withDeserializers, type DeserializerName } from './format.js';

export interface ConsumeFlags extends ClientFlags, SchemaValueFlags {
  topic: string;
  group?: string;
  fromBeginning?: boolean;
  offset?: string;
  fromTimestamp?: number;
  partition?: number;
  maxMessages?: number;
  format?: string;
  json?: boolean;
  follow?: boolean;
  isolationLevel: 'read_uncommitted' | 'read_committed';
  timeoutMs?: number;
  keyDeserializer: DeserializerName;
  valueDeserializer: DeserializerName;
}

/** How often --follow commits the group's progress (Kafka's auto.commit.interval.ms). */
const COMMIT_INTERVAL_MS = 5000;
const POLL_MS = 250;

export function registerConsume(program: Command): void {
  const cmd = program
    .command('consume')
    .description("Print a topic's records (the value per line by default), stopping at the end unless --follow")
    .requiredOption('-t, --topic <topic>', 'topic to read')
    .option('-g, --group <group>', 'consume as a member of this consumer group: start at its committed offsets and commit on exit')
    .option('--from-beginning', 'start at the earliest offset (with --group: when the group has no committed offset)')
    .option('-o, --offset <offset>', 'start at: beginning | end | N (absolute) | -N (N before the end); not with --group')
    .option('--from-timestamp <time>', 'start at the first record at or after this time (ms since epoch or ISO-8601); not with --group', parseTimestamp)
    .option('-p, --partition <n>', 'read only this partition (default: all)', intArg(0))
    .option('-c, --max-messages <n>', 'stop after printing N records', intArg(1))
    .option('-f, --format <template>', 'kcat-style template: %t %p %o %k %s %K %S %T %h %R %%, \\n \\t \\\\ (no newline is added)')
    .option('-J, --json', 'one JSON object per record: topic, partition, offset, timestamp, key, value, headers')
    .option('--follow', 'keep waiting for new records until Ctrl-C / SIGTERM (or --max-messages)')
    .addOption(new Option('--isolation-level <level>', 'read_committed hides aborted and open transactions').choices(['read_uncommitted', 'read_committed']).default('read_uncommitted'))
    .option('--timeout-ms <ms>', 'stop when no record arrives for this long', intArg(1))
    .addOption(new Option('--key-deserializer <how>', 'show keys as: string, hex, base64, int32, int64 (big-endian, as Kafka\'s Integer/LongDeserializer)').choices(DESERIALIZERS).default('string'))
    .addOption(new Option('--value-deserializer <how>', 'show values as: string, hex, base64, int32, int64').choices(DESERIALIZERS).default('string'));
  addSchemaValueFlags(cmd, 'consume');
  addClientFlags(cmd)
    .addHelpText('after', `
Start position: --from-beginning, --offset or --from-timestamp; otherwise the beginning without --follow
(dump and exit, like kcat -e) and the end with --follow (tail new records, like kafka-console-consumer).
With --group the group's committed offsets win; --from-beginning sets where a group without them starts.
Ctrl-C commits what was printed and leaves the group; a second Ctrl-C still leaves it (waiting at most 5 s),
a third exits at once.

Examples:
  $ tributary consume -t orders --from-beginning
  $ tributary consume -t orders -f 'p%p@%o %k=%s [%h]\\n'
  $ tributary consume -t orders --json --offset -10 --partition 0
  $ tributary consume -t orders -g billing --follow
  $ tributary consume -t users --value-format avro --schema-registry http://127.0.0.1:8081   # values as JSON`)
    .action(action((flags: ConsumeFlags) => consume(flags)));
}

type Start = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'offset'; offset: number } | { kind: 'fromEnd'; count: number } | { kind: 'timestamp'; timestamp: number };

function startOf(flags: ConsumeFlags): Start {
  const chosen = [flags.fromBeginning, flags.offset !== undefined, flags.fromTimestamp !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new UsageError('choose one of --from-beginning, --offset and --from-timestamp');
  if (flags.group !== undefined && (flags.offset !== undefined || flags.fromTimestamp !== undefined || flags.partition !== undefined)) {
    throw new UsageError('--offset, --from-timestamp and --partition need manual assignment: leave out --group (or reset the group\'s offsets with `tributary groups`)');
  }
  if (flags.fromBeginning) return { kind: 'earliest' };
  if (flags.fromTimestamp !== undefined) return { kind: 'timestamp', timestamp: flags.fromTimestamp };
  if (flags.offset !== undefined) {
    const o = flags.offset.trim();
    if (o === 'beginning') return { kind: 'earliest' };
    if (o === 'end') return { kind: 'latest' };
    if (/^-\d+$/.test(o)) return { kind: 'fromEnd', count: -Number(o) };
    if (/^\d+$/.test(o)) return { kind: 'offset', offset: Number(o) };
    throw new UsageError(`--offset must be beginning, end, N or -N; got "${flags.offset}"`);
  }
  return flags.follow ? { kind: 'latest' } : { kind: 'earliest' };
}

const key = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/** The consume loop; `output` replaces the --format / --json choice (kafka-console-consumer.sh's formatter). */
export async function consume(flags: ConsumeFlags, output?: (record: ConsumerRecord) => Buffer): Promise<void> {
  if (flags.format !== undefined && flags.json) throw new UsageError('choose one of --format and --json');
  const start = startOf(flags);
  const formatter: (record: ConsumerRecord) => Buffer = output ?? withDeserializers(
    flags.json ? formatJson : flags.format !== undefined ? compileFormat(flags.format) : formatValueLine,
    flags.keyDeserializer,
    flags.valueDeserializer,
  );
  const decode = await valueDecoder(flags);
  const client = clientOptions(flags);
  const admin = new Admin(client);
  const consumer = new Consumer({
    ...client,
    groupId: flags.group,
    // Offsets are committed here, for exactly the records printed (not whatever a poll returned beyond --max-messages).
    enableAutoCommit: false,
    autoOffsetReset: start.kind === 'earliest' ? 'earliest' : 'latest',
    isolationLevel: flags.isolationLevel,
  });
  // A second Ctrl-C still leaves the group (close() sends LeaveGroup, or the KIP-848 heartbeat with epoch -1).
  const stop = stopOnSignals({ leaveGroup: flags.group !== undefined ? () => consumer.close() : undefined });
  let printed = 0;
  let stdoutClosed = false;
  const onStdoutError = (err: NodeJS.ErrnoException): void => {
    // A reader that went away (`| head`) ends the run like Ctrl-C, not with an error.
    if (err.code === 'EPIPE') stdoutClosed = true;
  };
  process.stdout.on('error', onStdoutError);
  /** Next offset to commit per partition: one past the last record printed. */
  const toCommit = new Map<string, { topic: string; partition: number; offset: number }>();

  try {
    await admin.connect();
    const [description] = await admin.describeTopics([flags.topic]).catch((err: unknown) => {
      throw err instanceof ProtocolError && err.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION ? unknownTopicError(flags.topic) : err;
    });
    const all: TopicPartition[] = description.partitions.map((p) => ({ topic: flags.topic, partition: p.partition }));
    if (flags.partition !== undefined && !all.some((tp) => tp.partition === flags.partition)) {
      throw new Error(`${flags.topic} has no partition ${flags.partition} (it has ${all.length})`);
    }
    const tps = flags.partition === undefined ? all : [{ topic: flags.topic, partition: flags.partition }];
    // The ends at start-up: without --follow, reading stops once every partition gets there.
    const ends = new Map<string, number>();
    if (!flags.follow) {
      const latest = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: 'latest' as const })), { isolationLevel: flags.isolationLevel });
      for (const o of latest) ends.set(key(o), o.offset);
    }

    await consumer.connect();
    if (flags.group !== undefined) {
      await consumer.subscribe([flags.topic]);
    } else {
      consumer.assign(tps);
      for (const [tp, offset] of await startOffsets(admin, tps, start, flags.isolationLevel)) consumer.seek(tp, offset);
    }

    let lastRecordAt = Date.now();
    let lastCommit = Date.now();
    const lastSeen = new Map<string, number>();
    const atEnd = (): boolean => {
      if (flags.follow) return false;
      const assigned = consumer.assignment();
      if (assigned.length === 0) return flags.group === undefined;
      return assigned.every((tp) => {
        const end = ends.get(key(tp)) ?? 0;
        const position = consumer.position(tp) ?? lastSeen.get(key(tp));
        return position !== undefined && position >= end;
      });
    };

    while (!stop.signal.aborted && !stdoutClosed && !atEnd()) {
      if (flags.timeoutMs !== undefined && Date.now() - lastRecordAt >= flags.timeoutMs) break;
      const records: ConsumerRecord[] = await consumer.poll(POLL_MS);
      if (records.length > 0) lastRecordAt = Date.now();
      const out: Buffer[] = [];
      for (const r of records) {
        // Beyond the start-up end (records that arrived since): not this run's, without --follow.
        if (!flags.follow && r.offset >= (ends.get(key(r)) ?? Infinity)) continue;
        out.push(formatter(decode ? await decode(r) : r));
        printed++;
        lastSeen.set(key(r), r.offset + 1);
        toCommit.set(key(r), { topic: r.topic, partition: r.partition, offset: r.offset + 1 });
        if (flags.maxMessages !== undefined && printed >= flags.maxMessages) break;
      }
      if (out.length > 0) await writeOut(process.stdout, Buffer.concat(out));
      if (flags.maxMessages !== undefined && printed >= flags.maxMessages) break;
      if (flags.group !== undefined && toCommit.size > 0 && Date.now() - lastCommit >= COMMIT_INTERVAL_MS) {
        await consumer.commit([...toCommit.values()]);
        lastCommit = Date.now();
      }
    }
    if (flags.group !== undefined && toCommit.size > 0) await consumer.commit([...toCommit.values()]);
  } finally {
    await consumer.close().catch(() => {});
    await admin.close().catch(() => {});
    stop.dispose();
    process.stdout.off('error', onStdoutError);
    process.stderr.write(`Processed a total of ${printed} messages\n`);
  }
}

/** Where each partition starts, from the earliest/latest offsets or a timestamp lookup. */
async function startOffsets(admin: Admin, tps: TopicPartition[], start: Start, isolationLevel: ConsumeFlags['isolationLevel']): Promise<Array<[TopicPartition, number]>> {
  if (start.kind === 'offset') return tps.map((tp) => [tp, start.offset]);
  const list = async (timestamp: 'earliest' | 'latest' | number): Promise<Map<string, number>> => {
    const res = await admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp })), { isolationLevel });
    return new Map(res.map((o) => [key(o), o.offset]));
  };
  const latest = await list('latest');
  if (start.kind === 'latest') return tps.map((tp) => [tp, latest.get(key(tp)) ?? 0]);
  const earliest = await list('earliest');
  if (start.kind === 'earliest') return tps.map((tp) => [tp, earliest.get(key(tp)) ?? 0]);
  if (start.kind === 'fromEnd') return tps.map((tp) => [tp, Math.max(earliest.get(key(tp)) ?? 0, (latest.get(key(tp)) ?? 0) - start.count)]);
  const byTime = await list(start.timestamp);
  // No record at or after the time: start at the end (Kafka answers offset -1).
  return tps.map((tp) => {
    const o = byTime.get(key(tp));
    return [tp, o === undefined || o < 0 ? (latest.get(key(tp)) ?? 0) : o];
  });
}
