/**
 * Tributary against what a user would pick instead, where it runs here (`npm run bench -- --only compare`): NATS
 * JetStream (Debian's nats-server 2.9) and RabbitMQ streams (Debian's rabbitmq-server 3.10 with the rabbitmq_stream
 * plugin), each driven by its own maintained Node client, on the same work: N records of 100 bytes published with a
 * durable acknowledgement, then read back from the start and counted.
 *
 * Every round starts all three servers afresh (each in its own directory under the work dir, on 127.0.0.1 and free
 * ports), times their start-up (spawn → port accepting connections), runs every target once in an order that rotates
 * from round to round, and stops the servers. The table gives the median round of each figure.
 *
 * Targets, all with the most pipelining their durable-ack API allows (see SETTINGS, which the result records):
 * - Tributary, own client: acks=all, batches of 1,000 records, 4 batches in flight (bench/support.ts), one
 *   partition; read with a manually assigned Consumer. Also acks=1 (publish only): NATS 2.9 and RabbitMQ streams
 *   acknowledge a write without waiting for an fsync (NATS syncs in the background; RabbitMQ streams never fsync and
 *   rely on replicas), as acks=1 does, while acks=all on one broker also waits for an fdatasync.
 * - Tributary, kcat (librdkafka): acks=all, the same producer settings as bench/run.ts; read with `kcat -C -e`.
 * - NATS JetStream: a file-storage stream with one replica; js.publish() in windows of NATS_WINDOW, each window's
 *   PubAcks awaited; read with an ordered consumer (pull, consume()). Also (publish only) the same stream fed with
 *   plain publishes whose PubAcks are counted on one subscription, without js.publish()'s per-call cost.
 * - RabbitMQ: one stream; a publisher with chunks of RABBIT_CHUNK messages and publisher confirms, at most
 *   RABBIT_UNCONFIRMED messages unconfirmed; read with a stream consumer from the first offset. (The client needs one
 *   step skipped to talk to 3.10: skipCommandVersionsBefore311.)
 *
 * A system whose server is not installed is skipped with a message (bench/install-competitors.sh installs both).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect as natsConnect, createInbox } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect as rabbitConnect, Offset } from 'rabbitmq-stream-js-client';
import { Connection as RabbitConnection } from 'rabbitmq-stream-js-client/dist/connection.js';
import { creditsOnChunkReceived } from 'rabbitmq-stream-js-client/dist/consumer_credit_policy.js';
import { Admin } from '../src/client/admin.js';
import { Consumer } from '../src/client/consumer.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { run, tail } from '../test/compat/support/processes.js';
import { freePort, tcpReachable } from '../test/helpers/free-ports.js';
import { countLines, median, produceBatches, withTimeout } from './support.js';

const RECORD_BYTES = 100;
/**
 * JetStream publishes in windows: this many publishes, then await all their PubAcks. In a quick sweep here (40,000
 * records, a loaded machine) windows of 500–2,000 did best; a sliding pool of 1,000 or 4,000 awaiting workers did worse.
 */
const NATS_WINDOW = 1000;
/**
 * The same publishes without js.publish(): plain NATS publishes with a reply subject, their PubAcks counted on one
 * subscription, at most this many unacknowledged. The stream and the acks are the same; what it leaves out is the
 * client's per-request bookkeeping, which here costs more than the server's work (a quick check: 3–6× js.publish).
 */
const NATS_CORE_UNACKED = 4000;
const RABBIT_CHUNK = 1000;
const RABBIT_UNCONFIRMED = 4000;
/**
 * Chunks the RabbitMQ consumer may have outstanding (the client's default is 1: one chunk per round trip). 1, 4 and 16
 * read at the same rate within the noise in a quick check (300,000 records): the client's per-message work bounds it.
 */
const RABBIT_CREDITS = 4;
/** Messages per pull request of the NATS ordered consumer (the client's default is 100). */
const NATS_PULL = 10_000;
const KCAT_PRODUCER = ['-X', 'acks=all', '-X', 'queue.buffering.max.messages=2000000', '-X', 'queue.buffering.max.kbytes=2097151', '-X', 'batch.num.messages=10000', '-X', 'linger.ms=5'];
const KCAT_CONSUMER = ['-X', 'fetch.wait.max.ms=10', '-X', 'queued.min.messages=2000000', '-X', 'queued.max.messages.kbytes=2097151'];
/** Every step gives up after this long: the benchmark must never hang. */
const STEP_TIMEOUT_MS = 5 * 60_000;
const SERVER_START_TIMEOUT_MS = 60_000;
const RABBIT_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';

export const TARGETS = ['tributary', 'tributaryAcks1', 'tributaryKcat', 'nats', 'natsCore', 'rabbitmq'] as const;
export type Target = (typeof TARGETS)[number];
type System = 'tributary' | 'nats' | 'rabbitmq';

export const SETTINGS: Record<Target, string> = {
  tributary: 'own client, acks=all (fdatasync before the ack), idempotence off, no compression, 1 partition, sendBatch of 1,000 records with 4 in flight; read: Consumer by manual assignment from the beginning (default fetch sizes)',
  tributaryAcks1: 'own client, acks=1 (acknowledged without an fsync, as NATS 2.9 and RabbitMQ streams do), otherwise as above; publish only',
  tributaryKcat: `kcat (librdkafka), ${KCAT_PRODUCER.filter((x) => x !== '-X').join(' ')}; read: kcat -C -o beginning -e, ${KCAT_CONSUMER.filter((x) => x !== '-X').join(' ')}`,
  nats: `JetStream file-storage stream, 1 replica (no fsync before the PubAck: 2.9 syncs in the background); js.publish() of ${NATS_WINDOW.toLocaleString('en-US')} records, then await their ${NATS_WINDOW.toLocaleString('en-US')} PubAcks, repeated; read: ordered consumer, consume({ max_messages: ${NATS_PULL.toLocaleString('en-US')} })`,
  natsCore: `as NATS JetStream, but published with nc.publish(subject, payload, { reply }) and the PubAcks (JSON, checked for an error) counted on one inbox subscription, at most ${NATS_CORE_UNACKED.toLocaleString('en-US')} unacknowledged; publish only`,
  rabbitmq: `one stream (confirmed once written, never fsynced: streams rely on replicas); client skips ExchangeCommandVersions, which 3.10 lacks; publisher with maxChunkLength ${RABBIT_CHUNK.toLocaleString('en-US')} and publisher confirms, at most ${RABBIT_UNCONFIRMED.toLocaleString('en-US')} unconfirmed; read: stream consumer from Offset.first(), creditsOnChunkReceived(${RABBIT_CREDITS}, 1)`,
};

export interface Throughput { records: number; seconds: number; msgsPerSec: number; mbPerSec: number }
export interface TargetResult {
  /** The median round (by msgs/s) and every round's msgs/s. */
  publish: Throughput;
  read?: Throughput;
  publishRuns: number[];
  readRuns: number[];
}
export interface CompareBenchResult {
  date: string;
  node: string;
  records: number;
  recordBytes: number;
  runs: number;
  versions: Record<System, string>;
  settings: Record<Target, string>;
  /** Why a system was not measured (its server is not installed). */
  skipped: Partial<Record<System, string>>;
  results: Partial<Record<Target, TargetResult>>;
  /** Spawn → port accepting connections, per round, and the median. */
  startupMs: Partial<Record<System, { medianMs: number; runsMs: number[] }>>;
  /** Tributary's msgs/s ÷ the other system's, publish and read, for each Tributary target. */
  ratios: Record<string, { publish?: number; read?: number }>;
}

export interface CompareBenchOptions {
  workDir: string;
  records: number;
  runs: number;
  log?: (line: string) => void;
}

function throughput(ms: number, records: number): Throughput {
  const seconds = ms / 1000;
  return { records, seconds, msgsPerSec: records / seconds, mbPerSec: (records * RECORD_BYTES) / 1e6 / seconds };
}

/**
 * A server process of ours, output to a log file, stopped with SIGTERM then SIGKILL. It stays in our process group, so
 * a Ctrl-C of the bench reaches it too.
 */
interface ServerProcess { startupMs: number; stop(): Promise<void> }

async function startServer(name: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string; port: number }): Promise<ServerProcess> {
  const log = openSync(options.logFile, 'a');
  const started = performance.now();
  let child: ChildProcess;
  try {
    child = spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', log, log] });
  } finally {
    closeSync(log);
  }
  // A command that cannot be spawned emits 'error' and never 'exit'.
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  const alive = (): boolean => spawnError === undefined && child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!alive()) return;
    child.kill('SIGTERM');
    // RabbitMQ's start script forwards SIGTERM to the Erlang VM and waits for it: a clean stop takes a second or two.
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const deadline = performance.now() + SERVER_START_TIMEOUT_MS;
    for (;;) {
      if (!alive()) throw new Error(`${name} exited (${spawnError?.message ?? child.exitCode ?? child.signalCode}) before listening`);
      if (await tcpReachable(`127.0.0.1:${options.port}`, 0)) break;
      if (performance.now() > deadline) throw new Error(`${name} did not listen on ${options.port} within ${SERVER_START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  } catch (err) {
    await stop();
    // The round's directory goes when the round ends: keep the server's last words in the error.
    const output = await readFile(options.logFile, 'utf8').catch(() => '');
    throw new Error(`${(err as Error).message}\n${tail(output)}`);
  }
  return { startupMs: performance.now() - started, stop };
}

async function natsInstalled(): Promise<string | undefined> {
  try {
    const { stdout } = await run('nats-server', ['--version']);
    return stdout.trim().replace(/^nats-server:\s*/, '');
  } catch {
    return undefined;
  }
}

async function rabbitInstalled(): Promise<string | undefined> {
  if (!existsSync(RABBIT_SERVER)) return undefined;
  const lib = await readdir('/usr/lib/rabbitmq/lib').catch(() => [] as string[]);
  return lib.find((d) => d.startsWith('rabbitmq_server-'))?.slice('rabbitmq_server-'.length) ?? 'unknown';
}

/** nats-server with JetStream, its store in `dir`. */
async function startNats(dir: string): Promise<ServerProcess & { port: number }> {
  const port = await freePort();
  await mkdir(dir, { recursive: true });
  const server = await startServer('nats-server', 'nats-server', ['-js', '-sd', join(dir, 'store'), '-a', '127.0.0.1', '-p', String(port)], { logFile: join(dir, 'nats.log'), port });
  return { ...server, port };
}

/**
 * A RabbitMQ node of our own: its name, ports, data, logs, config, plugins file, Erlang cookie (HOME) and port
 * mapper (epmd, on a port of ours) all under `dir`, so it neither touches nor meets a system service.
 */
async function startRabbit(dir: string): Promise<ServerProcess & { streamPort: number }> {
  await mkdir(dir, { recursive: true });
  const [amqpPort, streamPort, distPort, epmdPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const config = join(dir, 'rabbitmq.conf');
  await writeFile(config, [
    `listeners.tcp.1 = 127.0.0.1:${amqpPort}`,
    `stream.listeners.tcp.1 = 127.0.0.1:${streamPort}`,
    // The client opens its publisher connection to the address the node advertises for the stream's leader.
    'stream.advertised_host = 127.0.0.1',
    `stream.advertised_port = ${streamPort}`,
    '',
  ].join('\n'));
  await writeFile(join(dir, 'enabled_plugins'), '[rabbitmq_stream].\n');
  const epmd = await startServer('epmd', 'epmd', ['-port', String(epmdPort), '-address', '127.0.0.1'], { logFile: join(dir, 'epmd.log'), port: epmdPort });
  try {
    const env = {
      ...process.env,
      HOME: dir,
      RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: config,
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
      RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(dir, 'log'),
      RABBITMQ_NODENAME: `tributary-bench-${process.pid}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      ERL_EPMD_ADDRESS: '127.0.0.1',
    };
    const server = await startServer('rabbitmq-server', RABBIT_SERVER, [], { env, logFile: join(dir, 'rabbitmq.log'), port: streamPort });
    return {
      streamPort,
      // The port opens while the node still boots; the client's first connection waits for the rest.
      startupMs: server.startupMs,
      async stop() {
        await server.stop();
        await epmd.stop();
      },
    };
  } catch (err) {
    await epmd.stop();
    throw err;
  }
}

async function natsPublish(port: number, stream: string, payload: Buffer, count: number): Promise<Throughput> {
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [stream], storage: StorageType.File, num_replicas: 1 });
    const js = jetstream(nc);
    const started = performance.now();
    for (let sent = 0; sent < count; sent += NATS_WINDOW) {
      const window: Array<Promise<unknown>> = [];
      for (let i = sent; i < Math.min(count, sent + NATS_WINDOW); i++) window.push(js.publish(stream, payload, { timeout: STEP_TIMEOUT_MS }));
      await Promise.all(window);
    }
    return throughput(performance.now() - started, count);
  } finally {
    await nc.close();
  }
}

async function natsCorePublish(port: number, stream: string, payload: Buffer, count: number): Promise<Throughput> {
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: stream, subjects: [stream], storage: StorageType.File, num_replicas: 1 });
    const inbox = createInbox();
    const decoder = new TextDecoder();
    let acked = 0;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    nc.subscribe(`${inbox}.*`, {
      callback: (err, msg) => {
        if (err) failure ??= err;
        else {
          const ack = JSON.parse(decoder.decode(msg.data)) as { error?: { description?: string } };
          if (ack.error) failure ??= new Error(`JetStream refused a publish: ${ack.error.description ?? JSON.stringify(ack.error)}`);
          else acked++;
        }
        wake?.();
      },
    });
    const ack = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    const timer = setTimeout(() => {
      failure ??= new Error(`NATS acknowledged ${acked} of ${count} records in ${STEP_TIMEOUT_MS} ms`);
      wake?.();
    }, STEP_TIMEOUT_MS);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      while (i - acked >= NATS_CORE_UNACKED && failure === undefined) await ack();
      if (failure) throw failure;
      nc.publish(stream, payload, { reply: `${inbox}.${i}` });
    }
    while (acked < count && failure === undefined) await ack();
    clearTimeout(timer);
    if (failure) throw failure;
    return throughput(performance.now() - started, count);
  } finally {
    await nc.close();
  }
}

async function natsRead(port: number, stream: string, count: number): Promise<Throughput> {
  const nc = await natsConnect({ servers: `127.0.0.1:${port}` });
  try {
    const started = performance.now();
    const consumer = await jetstream(nc).consumers.get(stream);
    const messages = await consumer.consume({ max_messages: NATS_PULL });
    // Ends the iteration if the records never all arrive (the step's timeout has fired by then).
    const timer = setTimeout(() => void messages.close(), STEP_TIMEOUT_MS);
    let seen = 0;
    try {
      for await (const _ of messages) {
        if (++seen >= count) break;
      }
    } finally {
      clearTimeout(timer);
    }
    if (seen !== count) throw new Error(`NATS read ${seen} of ${count} records`);
    return throughput(performance.now() - started, seen);
  } finally {
    await nc.close();
  }
}

/**
 * rabbitmq-stream-js-client 1.0.0 ends every connection set-up with ExchangeCommandVersions, a command RabbitMQ added
 * in 3.11; Debian's 3.10 answers it by closing the connection, which the client then fails on. Against a server older
 * than 3.11 we skip that one step: it only learns which command versions the server has, and every command used here
 * is at version 1, which 3.10 serves.
 */
function skipCommandVersionsBefore311(): void {
  type Patchable = { exchangeCommandVersions(this: RabbitConnection): Promise<unknown>; rabbitManagementVersion: string };
  const proto = RabbitConnection.prototype as unknown as Patchable;
  const original = proto.exchangeCommandVersions;
  if ((original as { skipsBefore311?: boolean }).skipsBefore311) return;
  const patched = async function (this: RabbitConnection): Promise<unknown> {
    const [major, minor] = (this as unknown as Patchable).rabbitManagementVersion.split('.').map(Number);
    if (major < 3 || (major === 3 && minor < 11)) return true;
    return original.call(this);
  };
  proto.exchangeCommandVersions = Object.assign(patched, { skipsBefore311: true });
}

async function rabbitPublish(port: number, stream: string, payload: Buffer, count: number): Promise<Throughput> {
  skipCommandVersionsBefore311();
  const client = await rabbitConnect({ hostname: '127.0.0.1', port, username: 'guest', password: 'guest', vhost: '/' });
  try {
    await client.createStream({ stream, arguments: {} });
    const publisher = await client.declarePublisher({ stream, maxChunkLength: RABBIT_CHUNK });
    let confirmed = 0;
    let failure: Error | undefined;
    let wake: (() => void) | undefined;
    publisher.on('publish_confirm', (err, ids) => {
      if (err !== null) failure ??= new Error(`RabbitMQ refused publishing id ${ids[0]}: code ${err}`);
      else confirmed += ids.length;
      wake?.();
    });
    const confirmation = (): Promise<void> => new Promise((resolve) => (wake = resolve));
    // A confirm that never comes must not leave the loop waiting forever.
    const timer = setTimeout(() => {
      failure ??= new Error(`RabbitMQ confirmed ${confirmed} of ${count} records in ${STEP_TIMEOUT_MS} ms`);
      wake?.();
    }, STEP_TIMEOUT_MS);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      while (i - confirmed >= RABBIT_UNCONFIRMED && failure === undefined) await confirmation();
      if (failure) throw failure;
      await publisher.send(payload);
    }
    await publisher.flush();
    while (confirmed < count && failure === undefined) await confirmation();
    clearTimeout(timer);
    if (failure) throw failure;
    return throughput(performance.now() - started, count);
  } finally {
    await client.close();
  }
}

async function rabbitRead(port: number, stream: string, count: number): Promise<Throughput> {
  skipCommandVersionsBefore311();
  const client = await rabbitConnect({ hostname: '127.0.0.1', port, username: 'guest', password: 'guest', vhost: '/' });
  try {
    const started = performance.now();
    let seen = 0;
    let done: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const all = new Promise<void>((resolve, reject) => {
      done = resolve;
      timer = setTimeout(() => reject(new Error(`RabbitMQ read ${seen} of ${count} records in ${STEP_TIMEOUT_MS} ms`)), STEP_TIMEOUT_MS);
    });
    try {
      await client.declareConsumer({ stream, offset: Offset.first(), creditPolicy: creditsOnChunkReceived(RABBIT_CREDITS, 1) }, () => {
        if (++seen === count) done?.();
      });
      await all;
    } finally {
      clearTimeout(timer);
    }
    return throughput(performance.now() - started, seen);
  } finally {
    await client.close();
  }
}

async function tributaryPublish(broker: BrokerProcess, topic: string, count: number, acks: 'all' | 1): Promise<Throughput> {
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-compare' });
  await admin.connect();
  try {
    await admin.createTopics([{ name: topic, numPartitions: 1, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  const rate = await produceBatches({ bootstrapServers: broker.address, clientId: 'bench-compare', acks, compression: 'none', idempotent: false }, topic, count, RECORD_BYTES);
  return throughput((count / rate) * 1000, count);
}

async function tributaryRead(broker: BrokerProcess, topic: string, count: number): Promise<Throughput> {
  const started = performance.now();
  const consumer = new Consumer({ bootstrapServers: broker.address, clientId: 'bench-compare', enableAutoCommit: false });
  try {
    await consumer.connect();
    const tps = [{ topic, partition: 0 }];
    consumer.assign(tps);
    await consumer.seekToBeginning(tps);
    let seen = 0;
    const deadline = performance.now() + STEP_TIMEOUT_MS;
    while (seen < count && performance.now() < deadline) seen += (await consumer.poll(1000)).length;
    if (seen !== count) throw new Error(`Tributary read ${seen} of ${count} records`);
    return throughput(performance.now() - started, seen);
  } finally {
    await consumer.close();
  }
}

async function kcatPublish(broker: BrokerProcess, topic: string, input: string, count: number): Promise<Throughput> {
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-compare' });
  await admin.connect();
  try {
    await admin.createTopics([{ name: topic, numPartitions: 1, replicationFactor: 1 }]);
  } finally {
    await admin.close();
  }
  const started = performance.now();
  await run('kcat', ['-P', '-b', broker.address, '-t', topic, ...KCAT_PRODUCER, '-l', input], { timeoutMs: STEP_TIMEOUT_MS });
  return throughput(performance.now() - started, count);
}

async function kcatRead(broker: BrokerProcess, topic: string, count: number): Promise<Throughput> {
  const started = performance.now();
  const seen = await countLines('kcat', ['-C', '-b', broker.address, '-t', topic, ...KCAT_CONSUMER, '-o', 'beginning', '-e', '-q'], STEP_TIMEOUT_MS);
  if (seen !== count) throw new Error(`kcat read ${seen} of ${count} records`);
  return throughput(performance.now() - started, seen);
}

export async function runCompareBench(options: CompareBenchOptions): Promise<CompareBenchResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const { records, runs } = options;
  const dir = await mkdtemp(join(options.workDir, 'compare-'));
  const payload = Buffer.alloc(RECORD_BYTES, 'x');
  const input = join(dir, 'records.txt');
  await writeFile(input, 'x'.repeat(RECORD_BYTES).concat('\n').repeat(records));

  const versions: Record<System, string> = { tributary: 'this tree', nats: 'not installed', rabbitmq: 'not installed' };
  const skipped: Partial<Record<System, string>> = {};
  const nats = await natsInstalled();
  if (nats) versions.nats = `nats-server ${nats}, @nats-io/transport-node 3.3.1, @nats-io/jetstream 3.3.1`;
  else skipped.nats = 'nats-server is not installed (bench/install-competitors.sh installs it): NATS JetStream skipped';
  const rabbit = await rabbitInstalled();
  if (rabbit) versions.rabbitmq = `rabbitmq-server ${rabbit}, rabbitmq-stream-js-client 1.0.0`;
  else skipped.rabbitmq = `${RABBIT_SERVER} is not installed (bench/install-competitors.sh installs it): RabbitMQ streams skipped`;
  for (const message of Object.values(skipped)) log(message);
  const targets = TARGETS.filter((t) => !(t.startsWith('nats') && !nats) && !(t === 'rabbitmq' && !rabbit));

  // A client that throws from its socket handler (an uncaught exception) fails the step instead of the process, so the
  // servers are still stopped.
  let crash: (err: unknown) => void = () => {};
  const crashed = new Promise<never>((_, reject) => (crash = reject));
  crashed.catch(() => {});
  const onCrash = (err: unknown): void => crash(err);
  process.on('uncaughtException', onCrash);

  const publishRuns = new Map<Target, Throughput[]>(targets.map((t) => [t, []]));
  const readRuns = new Map<Target, Throughput[]>(targets.map((t) => [t, []]));
  const startups = new Map<System, number[]>([['tributary', []], ['nats', []], ['rabbitmq', []]]);
  try {
    for (let round = 0; round < runs; round++) {
      const roundDir = join(dir, `round-${round}`);
      const stops: Array<() => Promise<unknown>> = [];
      try {
        const broker = await spawnBroker(join(roundDir, 'tributary'), { settings: { 'num.partitions': '1' } });
        stops.push(() => broker.stop());
        startups.get('tributary')!.push(broker.startupMs);
        let natsServer: Awaited<ReturnType<typeof startNats>> | undefined;
        if (nats) {
          natsServer = await startNats(join(roundDir, 'nats'));
          stops.push(natsServer.stop);
          startups.get('nats')!.push(natsServer.startupMs);
        }
        let rabbitServer: Awaited<ReturnType<typeof startRabbit>> | undefined;
        if (rabbit) {
          rabbitServer = await startRabbit(join(roundDir, 'rabbitmq'));
          stops.push(rabbitServer.stop);
          startups.get('rabbitmq')!.push(rabbitServer.startupMs);
        }
        log(`round ${round + 1}/${runs}: started Tributary in ${broker.startupMs.toFixed(0)} ms` +
          (natsServer ? `, nats-server in ${natsServer.startupMs.toFixed(0)} ms` : '') +
          (rabbitServer ? `, rabbitmq-server in ${rabbitServer.startupMs.toFixed(0)} ms` : ''));

        const steps: Record<Target, () => Promise<{ publish: Throughput; read?: Throughput }>> = {
          tributary: async () => ({ publish: await tributaryPublish(broker, 'compare-own', records, 'all'), read: await tributaryRead(broker, 'compare-own', records) }),
          tributaryAcks1: async () => ({ publish: await tributaryPublish(broker, 'compare-acks1', records, 1) }),
          tributaryKcat: async () => ({ publish: await kcatPublish(broker, 'compare-kcat', input, records), read: await kcatRead(broker, 'compare-kcat', records) }),
          nats: async () => ({ publish: await natsPublish(natsServer!.port, 'compare', payload, records), read: await natsRead(natsServer!.port, 'compare', records) }),
          natsCore: async () => ({ publish: await natsCorePublish(natsServer!.port, 'compare-core', payload, records) }),
          rabbitmq: async () => ({ publish: await rabbitPublish(rabbitServer!.streamPort, 'compare', payload, records), read: await rabbitRead(rabbitServer!.streamPort, 'compare', records) }),
        };
        // The machine is shared: rotating the order spreads whatever else runs over all targets.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]);
        for (const target of order) {
          const result = await withTimeout(`${target} round ${round + 1}`, STEP_TIMEOUT_MS, Promise.race([steps[target](), crashed]));
          publishRuns.get(target)!.push(result.publish);
          if (result.read) readRuns.get(target)!.push(result.read);
          const cell = (t: Throughput): string => `${Math.round(t.msgsPerSec).toLocaleString('en-US').padStart(10)} msg/s ${t.mbPerSec.toFixed(1).padStart(6)} MB/s`;
          log(`  ${target.padEnd(15)} publish ${cell(result.publish)}${result.read ? `   read ${cell(result.read)}` : ''}`);
        }
      } finally {
        for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`  stop failed: ${(err as Error).message}`));
        await rm(roundDir, { recursive: true, force: true });
      }
    }
  } finally {
    process.off('uncaughtException', onCrash);
    await rm(dir, { recursive: true, force: true });
  }

  const middle = (xs: Throughput[]): Throughput => [...xs].sort((a, b) => a.msgsPerSec - b.msgsPerSec)[Math.floor(xs.length / 2)];
  const results: Partial<Record<Target, TargetResult>> = {};
  for (const t of targets) {
    const reads = readRuns.get(t)!;
    results[t] = {
      publish: middle(publishRuns.get(t)!),
      ...(reads.length > 0 ? { read: middle(reads) } : {}),
      publishRuns: publishRuns.get(t)!.map((x) => Math.round(x.msgsPerSec)),
      readRuns: reads.map((x) => Math.round(x.msgsPerSec)),
    };
  }
  const ratios: CompareBenchResult['ratios'] = {};
  for (const ours of ['tributary', 'tributaryAcks1', 'tributaryKcat'] as const) {
    for (const other of ['nats', 'natsCore', 'rabbitmq'] as const) {
      const a = results[ours];
      const b = results[other];
      if (!a || !b) continue;
      ratios[`${ours}/${other}`] = {
        publish: a.publish.msgsPerSec / b.publish.msgsPerSec,
        ...(a.read && b.read ? { read: a.read.msgsPerSec / b.read.msgsPerSec } : {}),
      };
    }
  }
  const startupMs: CompareBenchResult['startupMs'] = {};
  for (const [system, xs] of startups) if (xs.length > 0) startupMs[system] = { medianMs: median(xs), runsMs: xs.map((x) => Math.round(x)) };
  return {
    date: new Date().toISOString(), node: process.version, records, recordBytes: RECORD_BYTES, runs,
    versions, settings: SETTINGS, skipped, results, startupMs, ratios,
  };
}

const LABELS: Record<Target, string> = {
  tributary: 'Tributary, own client, acks=all',
  tributaryAcks1: 'Tributary, own client, acks=1',
  tributaryKcat: 'Tributary, kcat, acks=all',
  nats: 'NATS JetStream',
  natsCore: 'NATS JetStream, core publish',
  rabbitmq: 'RabbitMQ streams',
};

/** msgs/s and MB/s per target, Tributary ÷ each other system, start-up times, and the settings. */
export function formatCompareTable(result: CompareBenchResult): string {
  const lines: string[] = [];
  const widths = [34, 12, 7, 12, 7, 15, 11, 15];
  const row = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join(' ');
  const rate = (t: Throughput | undefined): string[] => (t ? [Math.round(t.msgsPerSec).toLocaleString('en-US'), t.mbPerSec.toFixed(1)] : ['—', '—']);
  const ratio = (x: number | undefined): string => (x === undefined ? '—' : `${x.toFixed(2)}×`);
  lines.push(`\n${result.records.toLocaleString('en-US')} records × ${result.recordBytes} B, durable publish with acknowledgement, then read back; median of ${result.runs} rounds (MB = 10^6 B of values)`);
  lines.push(row(['', 'publish/s', 'MB/s', 'read/s', 'MB/s', '÷ NATS p / r', '÷ NATS core', '÷ Rabbit p / r']));
  for (const t of TARGETS) {
    const r = result.results[t];
    if (!r) continue;
    const vs = (other: string, withRead = true): string => {
      const x = result.ratios[`${t}/${other}`];
      if (!x) return '';
      return withRead ? `${ratio(x.publish)} / ${ratio(x.read)}` : ratio(x.publish);
    };
    lines.push(row([LABELS[t], ...rate(r.publish), ...rate(r.read), vs('nats'), vs('natsCore', false), vs('rabbitmq')]));
  }
  const start = (s: System, name: string): string => {
    const x = result.startupMs[s];
    return x ? `${name} ${x.medianMs.toFixed(0)} ms` : `${name} —`;
  };
  lines.push(`start-up to a listening port (median): ${start('tributary', 'Tributary')}, ${start('nats', 'nats-server')}, ${start('rabbitmq', 'rabbitmq-server (stream port)')}`);
  for (const s of ['tributary', 'nats', 'rabbitmq'] as const) lines.push(`${s}: ${result.versions[s]}`);
  for (const t of TARGETS) if (result.results[t]) lines.push(`${LABELS[t]}: ${result.settings[t]}`);
  for (const message of Object.values(result.skipped)) lines.push(message);
  return lines.join('\n');
}
