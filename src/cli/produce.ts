/**
 * `tributary produce`: records from stdin or a file into a topic, like kcat -P and
 * kafka-console-producer. Reads only as fast as the producer accepts (its buffer and a cap on
 * unacknowledged sends), shows progress on stderr, and ends with a one-line summary.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { Admin } from '../client/admin.js';
import { ProtocolError } from '../client/errors.js';
import { Producer } from '../client/producer.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import { progress } from '../util/progress.js';
import { addClientFlags, action, clientOptions, UsageError, type ClientFlags } from './common.js';
import { addProducerFlags, InFlight, intArg, MIB, producerSettings, stopOnSignals, type ProducerFlags } from './data-options.js';
import { collectHeader, countLines, readRecordBatches, type InputFormat, type InputHeader, type InputRecord } from './input.js';
import { addSchemaValueFlags, valueEncoder, type SchemaValueFlags } from './schema-values.js';

interface ProduceFlags extends ClientFlags, ProducerFlags, SchemaValueFlags {
  topic: string;
  keySeparator?: string;
  header: InputHeader[];
  file?: string;
  format: InputFormat;
  keyColumn?: string;
  partition?: number;
  progress?: boolean;
}

/** Sends not yet acknowledged, at most: bounds the memory held by pending promises for tiny records. */
const MAX_UNACKNOWLEDGED = 100_000;

export function registerProduce(program: Command): void {
  const cmd = program
    .command('produce')
    .description('Produce records read from stdin or a file: one per line (optionally key<SEP>value), or JSON / CSV')
    .requiredOption('-t, --topic <topic>', 'topic to produce to')
    .option('-K, --key-separator <sep>', 'lines: the key is what comes before the first SEP (kcat -K); a line without SEP gets a null key')
    .option('-H, --header <key=value>', 'header added to every record (repeatable)', (v: string, prev: InputHeader[]) => {
      try {
        return collectHeader(v, prev);
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    }, [])
    .option('--file <path>', 'read this file instead of stdin')
    .addOption(new Option('--format <format>', 'input format').choices(['lines', 'json', 'csv']).default('lines'))
    .option('--key-column <name>', 'csv: the column whose value is the record key')
    .option('-p, --partition <n>', 'send every record to this partition (default: by key hash, or spread when no key)', intArg(0))
    .option('--no-progress', 'no progress line on stderr');
  addProducerFlags(cmd);
  addSchemaValueFlags(cmd, 'produce');
  addClientFlags(cmd)
    .addHelpText('after', `
Input formats:
  lines  one record value per line; with --key-separator the key comes first (empty lines are skipped)
  json   one object per line: {"key": "k", "value": "text" or any JSON, "headers": {"h": "v"}, "partition": 0}
         (key, headers and partition optional; a non-string value is sent as its JSON text)
  csv    a header row, then one record per row, sent as a JSON object {"column": value, ...} with the types
         \`tributary connect\`'s CSV source infers from the first 100 rows (numbers, booleans, ISO timestamps,
         empty cells null; leading zeros keep a column text)

Examples:
  $ printf 'k1:hello\\nk2:world\\n' | tributary produce -t orders -K : -H source=cli
  $ tributary produce -t orders --file orders.jsonl --format json --compression zstd
  $ tributary produce -t users --file users.csv --format csv --key-column id
  $ echo '{"id": 1, "email": "a@b.c"}' | tributary produce -t users --value-format avro \\
      --schema-registry http://127.0.0.1:8081 --value-schema-file user.avsc

Prints "Produced N records to TOPIC in X s (R msg/s, M MiB/s)" on stderr at the end. A bad input line, or a
record naming a partition the topic does not have, stops the run with exit code 1; the message says how many
records before it were sent and acknowledged.`)
    .action(action(produce));
}

async function produce(flags: ProduceFlags): Promise<void> {
  if (flags.keyColumn !== undefined && flags.format !== 'csv') throw new UsageError('--key-column applies to --format csv only');
  if (flags.keySeparator !== undefined && flags.format !== 'lines') throw new UsageError('--key-separator applies to --format lines only; json lines carry their own "key"');
  let total: number | undefined;
  if (flags.file !== undefined) {
    const info = await stat(flags.file).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`--file ${flags.file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`);
    });
    if (!info.isFile()) throw new UsageError(`--file ${flags.file} is not a regular file`);
    if (flags.progress !== false && process.stderr.isTTY) {
      const lines = await countLines(createReadStream(flags.file));
      total = Math.max(0, flags.format === 'csv' ? lines - 1 : lines);
    }
  }

  const encode = await valueEncoder(flags);
  const partitions = new PartitionCheck(flags);
  await partitions.load();
  if (flags.partition !== undefined) partitions.refuse(flags.partition);
  const producer = new Producer({ ...clientOptions(flags), ...producerSettings(flags) });
  const stop = stopOnSignals();
  const started = performance.now();
  const inFlight = new InFlight();
  let bytes = 0;
  let sentBytes = 0;
  let acknowledged = 0;
  let stoppedBy: unknown;
  const bar = flags.progress === false ? { tick() {}, done() {} } : progress(`Producing to ${flags.topic}`, total);
  try {
    await producer.connect();
    const source = flags.file !== undefined ? createReadStream(flags.file) : process.stdin;
    // Ctrl-C while waiting for input (an interactive stdin) ends the input; what was read is still sent.
    stop.signal.addEventListener('abort', () => source.destroy(), { once: true });
    const batches = readRecordBatches(source, { format: flags.format, keySeparator: flags.keySeparator, headers: flags.header, keyColumn: flags.keyColumn });
    // No promise per record: the producer tells the listener per batch how many records it acknowledged.
    const listener = inFlight.listener((records) => {
      acknowledged += records;
      const b = Math.round((sentBytes * records) / inFlight.sent);
      bytes += b;
      bar.tick(records, b);
    });
    const send = (r: InputRecord, value: Buffer | string | null, partition: number | undefined): void => {
      inFlight.sent++;
      try {
        producer.sendTo({ topic: flags.topic, partition, key: r.key, value, headers: r.headers }, listener);
        sentBytes += r.bytes;
      } catch (err) {
        // Refused at once (too large, …): as a send that failed.
        inFlight.settled++;
        inFlight.failure ??= err;
      }
    };
    try {
      outer: for await (const batch of batches) {
        for (const r of batch) {
          if (inFlight.failure !== undefined || stop.signal.aborted) break outer;
          const partition = r.partition ?? flags.partition;
          if (partition !== undefined && !partitions.fits(partition)) await partitions.check(partition, r.line);
          if (inFlight.outstanding >= MAX_UNACKNOWLEDGED) await inFlight.below(MAX_UNACKNOWLEDGED);
          if (producer.bufferFull) await producer.waitForSpace();
          send(r, encode ? await encode(flags.topic, r.value) : r.value, partition);
        }
      }
    } catch (err) {
      // A bad line: what was read before it is still sent, and the message says how much that was.
      if (!stop.signal.aborted) stoppedBy = err;
    }
    await producer.flush();
    await inFlight.drain();
    if (acknowledged === inFlight.sent) bytes = sentBytes; // every record: exact, not the per-batch estimate
  } finally {
    stop.dispose();
    bar.done();
    await producer.close().catch((err: unknown) => (inFlight.failure ??= err));
  }
  const failure = inFlight.failure;
  if (stoppedBy !== undefined) {
    const failed = inFlight.sent - acknowledged;
    throw new Error(
      `${(stoppedBy as Error).message ?? String(stoppedBy)}; stopped there: the ${acknowledged} record(s) before it were sent to ${flags.topic} and acknowledged` +
        (failed > 0 ? `, ${failed} failed (${(failure as Error)?.message ?? String(failure)})` : ''),
      { cause: stoppedBy },
    );
  }
  if (failure !== undefined) throw failure;
  const secs = (performance.now() - started) / 1000;
  process.stderr.write(
    `Produced ${inFlight.sent} records to ${flags.topic} in ${secs.toFixed(2)} s (${Math.round(inFlight.sent / secs)} msg/s, ${(bytes / MIB / secs).toFixed(2)} MiB/s)\n`,
  );
}

/**
 * A partition beyond the topic's would leave the send waiting for metadata until max.block.ms (60 s); say so
 * at once instead, for -p and for a json line's "partition". The count is looked up again (at most once a
 * second) before refusing, in case partitions were added. A topic that does not exist yet is left to
 * auto-creation.
 */
class PartitionCheck {
  private count: number | undefined;
  private loadedAt = 0;

  constructor(private readonly flags: ProduceFlags) {}

  async load(): Promise<void> {
    const admin = new Admin(clientOptions(this.flags));
    try {
      await admin.connect();
      const [topic] = await admin.describeTopics([this.flags.topic]).catch((err: unknown) => {
        if (err instanceof ProtocolError && err.errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) return [undefined];
        throw err;
      });
      this.count = topic?.partitions.length;
      this.loadedAt = performance.now();
    } finally {
      await admin.close().catch(() => {});
    }
  }

  /** Throws when `partition` is known not to exist. */
  refuse(partition: number, line?: number): void {
    if (this.count !== undefined && partition >= this.count) {
      throw new Error(`${line !== undefined ? `line ${line}: ` : ''}${this.flags.topic} has no partition ${partition} (it has ${this.count})`);
    }
  }

  /** The partition is known to exist, or the topic's count is not known (no need to check). */
  fits(partition: number): boolean {
    return this.count === undefined || partition < this.count;
  }

  async check(partition: number, line: number): Promise<void> {
    if (this.count === undefined || partition < this.count) return;
    if (performance.now() - this.loadedAt >= 1000) await this.load();
    this.refuse(partition, line);
  }
}
