/**
 * What every example shares: a broker to talk to (an embedded one on a free port in a temp dir, unless
 * `--bootstrap-server` names one), a scratch directory for the files an example writes, topics, and the
 * `main` wrapper that parses flags, prints the summary line and sets the exit code.
 *
 * The examples import the library from src/ so they build with the project; in your own code the same
 * names come from `import { Producer, Consumer, Admin, startBroker } from 'tributary'`.
 */
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Admin, startBroker, type ClientOptions } from '../src/index.js';

export interface ExampleOptions {
  /** A running broker (`host:port`); without it an embedded one is started for the run and stopped after. */
  bootstrapServers?: string;
  /** Where files the example writes go (kept); without it a temp dir, removed at the end. */
  outDir?: string;
  /** Progress lines; default: none. */
  log?: (line: string) => void;
}

export interface ExampleEnv {
  client: ClientOptions;
  /** The scratch (or --out) directory. */
  dir: string;
  /** True when dir is removed at the end. */
  temporary: boolean;
  /** Appended to topic and group names on an external broker, so repeated runs do not read each other's data. */
  suffix: string;
  log: (line: string) => void;
  /** Where the pipeline runtimes write their progress and summaries: stderr, or nowhere when there is no log. */
  stream: NodeJS.WriteStream;
  /** Creates topics (already existing ones are fine). */
  createTopics(topics: Array<{ name: string; partitions: number }>): Promise<void>;
  close(): Promise<void>;
}

/** Starts what a run needs; call close() in a finally. */
export async function openEnv(name: string, options: ExampleOptions): Promise<ExampleEnv> {
  const scratch = await mkdtemp(join(tmpdir(), `tributary-example-${name}-`));
  const dir = options.outDir !== undefined ? resolve(options.outDir) : scratch;
  await mkdir(dir, { recursive: true });
  let broker: Awaited<ReturnType<typeof startBroker>> | null = null;
  let bootstrapServers = options.bootstrapServers;
  if (bootstrapServers === undefined) {
    broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(scratch, 'broker'),
      // One-broker settings: groups form at once, internal topics stay small.
      config: {
        'group.initial.rebalance.delay.ms': 0,
        'offsets.topic.num.partitions': 1,
        'transaction.state.log.num.partitions': 1,
      },
      logLevel: 'silent',
    });
    bootstrapServers = broker.address;
  }
  const client: ClientOptions = { bootstrapServers, clientId: `example-${name}` };
  return {
    client,
    dir,
    temporary: options.outDir === undefined,
    suffix: broker === null ? `-${Date.now().toString(36)}` : '',
    log: options.log ?? (() => undefined),
    stream: options.log === undefined ? (new Writable({ write: (_chunk, _encoding, done) => done() }) as NodeJS.WriteStream) : process.stderr,
    async createTopics(topics) {
      const admin = new Admin(client);
      try {
        await admin.connect();
        const existing = new Set(await admin.listTopics());
        const missing = topics.filter((t) => !existing.has(t.name));
        await admin.createTopics(missing.map((t) => ({ name: t.name, numPartitions: t.partitions, replicationFactor: 1 })));
      } finally {
        await admin.close();
      }
    },
    async close() {
      try {
        await broker?.close();
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
  };
}

/** A seeded pseudo-random generator (mulberry32): the same events on every run, so summaries can be checked. */
export { prng as random } from '../src/util/prng.js';

/** Picks by weight: `pick(rnd, { a: 3, b: 1 })` is 'a' three times in four. */
export function pick<K extends string>(rnd: () => number, weights: Record<K, number>): K {
  const entries = Object.entries(weights) as Array<[K, number]>;
  const total = entries.reduce((s, [, w]) => s + w, 0);
  let x = rnd() * total;
  for (const [k, w] of entries) {
    x -= w;
    if (x < 0) return k;
  }
  return entries[entries.length - 1][0];
}

/** Rejects when `ms` pass before the promise settles: every example is bounded. */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const COMMON_FLAGS = {
  'bootstrap-server': { type: 'string' },
  out: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** A positive integer flag, or the default. */
export function intFlag(values: Record<string, unknown>, name: string, def: number): number {
  const v = values[name];
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
  return n;
}

/**
 * Runs an example as a program: parses its flags and the common ones, runs it, prints its summary line on stdout.
 * Exit code 0 on success, 1 on failure, 2 on a bad flag. Does nothing when the module was imported (tests).
 */
export async function cliMain<F extends NonNullable<ParseArgsConfig['options']>>(
  moduleUrl: string,
  usage: string,
  flags: F,
  run: (values: Record<string, unknown>, common: ExampleOptions) => Promise<string>,
): Promise<void> {
  if (process.argv[1] === undefined || pathToFileURL(resolve(process.argv[1])).href !== moduleUrl) return;
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ options: { ...COMMON_FLAGS, ...flags }, strict: true, allowPositionals: false }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  if (values.help === true) {
    process.stdout.write(`${usage}
  --bootstrap-server HOST:PORT  use a running broker instead of an embedded one
  --out DIR                     keep the files the example writes in DIR
  -q, --quiet                   only the summary line
`);
    return;
  }
  const quiet = values.quiet === true;
  try {
    const summary = await run(values, {
      bootstrapServers: values['bootstrap-server'] as string | undefined,
      outDir: values.out as string | undefined,
      log: quiet ? undefined : (line) => process.stderr.write(`${line}\n`),
    });
    process.stdout.write(`${summary}\n`);
  } catch (err) {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
