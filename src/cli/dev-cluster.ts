/**
 * `tributary dev-cluster`: a whole cluster on one machine for development and fault tests — one etcd member and
 * N brokers (`tributary start --node-id i --etcd …`), each a child process with its own data directory and log
 * file under --dir. `startDevCluster()` is the library behind it: the command and the tests use its handles to
 * kill, pause, stop and restart brokers and etcd.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, type Command } from 'commander';
import { exitedAlready, startEtcd, stopChild, type Child, type EtcdHandle } from './etcd-process.js';
import { action, UsageError } from './common.js';
import { intOption } from './topics-common.js';

/**
 * This build's CLI launcher: the brokers run the same code as the command that starts them (the bundle or the
 * compiled modules, as bin/tributary.js picks). Relative to dist/src/<dir>/, so it holds in the bundle too.
 */
const CLI_ENTRY = fileURLToPath(new URL('../../../bin/tributary.js', import.meta.url));
/** The line `tributary start` logs once it accepts connections (src/server/broker.ts). */
const LISTENING = /Tributary broker listening on ([^\s"]+):(\d+)/;

export interface DevClusterOptions {
  /** Number of brokers, node ids 1..N. */
  brokers: number;
  /** Where etcd's data, each broker's data directory and the log files go. Default ./dev-cluster. */
  dir?: string;
  /** Broker i listens on basePort + i - 1. Default 9092. */
  basePort?: number;
  /** etcd's client port (its peer port is the next one). Default 2379. */
  etcdPort?: number;
  /** etcd key prefix (--etcd-prefix); the broker's default when unset. */
  etcdPrefix?: string;
  /** Broker settings for every broker (--set key=value). */
  settings?: Record<string, string>;
  /** Broker i serves Prometheus metrics on metricsBasePort + i - 1 (--metrics-port); none when unset. */
  metricsBasePort?: number;
  /** Settings for one broker, by node id (e.g. broker.rack, advertised.listeners through a fault proxy). */
  brokerSettings?: Record<number, Record<string, string>>;
  /** A broker's own --etcd endpoint, by node id (e.g. a fault proxy in front of etcd); default etcd itself. */
  brokerEtcd?: Record<number, string>;
  /** How long each broker may take to log its listening line. Default 30 s. */
  startTimeoutMs?: number;
  /** Grace before SIGKILL when stopping a broker or etcd. Default 10 s. */
  stopGraceMs?: number;
  /** Children in their own process groups (the command: Ctrl-C reaches only it, which stops them in order). */
  detached?: boolean;
  /** The etcd binary (default: etcd on PATH). */
  etcdBinary?: string;
  /** The script each broker runs (`node <cliEntry> start …`); default this build's CLI. Tests substitute a wrapper. */
  cliEntry?: string;
}

export interface DevBroker {
  readonly nodeId: number;
  readonly port: number;
  /** 127.0.0.1:port */
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** http://127.0.0.1:port/metrics when the cluster was started with a metrics base port. */
  readonly metricsUrl?: string;
  /** The current process's id (changes with restart()). */
  readonly pid: number;
  readonly running: boolean;
  /** Sends a signal: SIGKILL is a crash, SIGSTOP / SIGCONT pause and resume. */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the current process has exited; the exit code (null after a signal). */
  exited(): Promise<number | null>;
  /** SIGTERM (a controlled shutdown), SIGKILL after the grace; resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it if it runs, then starts it again with the same node id, port and data; resolves once it listens. */
  restart(): Promise<void>;
}

export interface DevCluster {
  readonly etcd: EtcdHandle;
  readonly brokers: DevBroker[];
  /** host:port,… for --bootstrap-server. */
  readonly bootstrapServers: string;
  readonly dir: string;
  /** Stops every broker (in parallel, SIGTERM then SIGKILL after the grace), then etcd. */
  stop(): Promise<void>;
}

class BrokerProcess implements DevBroker {
  private child: Child | null = null;

  constructor(
    readonly nodeId: number,
    readonly port: number,
    readonly dataDir: string,
    readonly logFile: string,
    private readonly args: string[],
    private readonly options: { startTimeoutMs: number; stopGraceMs: number; detached: boolean; cliEntry: string },
    readonly metricsUrl?: string,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.child?.process.pid ?? -1;
  }

  get running(): boolean {
    return this.child !== null && !exitedAlready(this.child);
  }

  /** Spawns the broker and resolves once it logged its listening line (rejects with the log's tail if it exits first). */
  async start(): Promise<void> {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    const proc: ChildProcess = spawn(process.execPath, [this.options.cliEntry, ...this.args], { stdio: ['ignore', 'pipe', 'pipe'], detached: this.options.detached });
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      proc.once('exit', (code, signal) => res({ code, signal }));
      proc.once('error', () => res({ code: null, signal: null }));
    });
    // The log file is written for the process's whole life; the listening line is looked for on the way.
    proc.stdout!.pipe(log, { end: false });
    proc.stderr!.pipe(log, { end: false });
    proc.once('close', () => log.end());
    this.child = { process: proc, exit };
    let tail = '';
    await new Promise<void>((res, rej) => {
      let pending = '';
      const timer = setTimeout(() => fail(`did not log "listening on" within ${this.options.startTimeoutMs} ms`), this.options.startTimeoutMs);
      const onData = (chunk: Buffer): void => {
        tail = (tail + chunk.toString('utf8')).slice(-4000);
        pending += chunk.toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          if (LISTENING.test(line)) {
            cleanup();
            res();
            return;
          }
        }
      };
      const onStderr = (chunk: Buffer): void => {
        tail = (tail + chunk.toString('utf8')).slice(-4000);
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(`exited (${code ?? signal}) before listening`);
      const cleanup = (): void => {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        proc.stderr!.off('data', onStderr);
        proc.off('exit', onExit);
      };
      const fail = (why: string): void => {
        cleanup();
        if (!exitedAlready(this.child!)) proc.kill('SIGKILL');
        rej(new Error(`broker ${this.nodeId} ${why}: ${tail.trim().split('\n').slice(-5).join('\n') || '(no output)'}\n(log: ${this.logFile})`));
      };
      proc.stdout!.on('data', onData);
      proc.stderr!.on('data', onStderr);
      proc.once('exit', onExit);
    });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.running) this.child!.process.kill(signal);
  }

  async exited(): Promise<number | null> {
    if (this.child === null) return null;
    return (await this.child.exit).code;
  }

  async stop(graceMs = this.options.stopGraceMs): Promise<void> {
    if (this.child === null) return;
    // A paused broker cannot act on SIGTERM.
    if (this.running) this.child.process.kill('SIGCONT');
    await stopChild(this.child, graceMs);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }
}

/** Starts etcd, then the brokers one after the other; on any failure stops what it started and rethrows. */
export async function startDevCluster(opts: DevClusterOptions): Promise<DevCluster> {
  if (!Number.isInteger(opts.brokers) || opts.brokers < 1) throw new Error(`a dev cluster needs at least one broker, got ${opts.brokers}`);
  const dir = resolve(opts.dir ?? 'dev-cluster');
  const basePort = opts.basePort ?? 9092;
  const etcdPort = opts.etcdPort ?? 2379;
  const stopGraceMs = opts.stopGraceMs ?? 10_000;
  const timing = { startTimeoutMs: opts.startTimeoutMs ?? 30_000, stopGraceMs, detached: opts.detached ?? false, cliEntry: opts.cliEntry ?? CLI_ENTRY };
  mkdirSync(dir, { recursive: true });
  const etcd = await startEtcd({ dataDir: join(dir, 'etcd'), clientPort: etcdPort, logFile: join(dir, 'etcd.log'), binary: opts.etcdBinary, detached: opts.detached });
  const brokers: BrokerProcess[] = [];
  const stopAll = async (): Promise<void> => {
    await Promise.all(brokers.map((b) => b.stop(stopGraceMs)));
    await etcd.stop(stopGraceMs);
  };
  try {
    for (let id = 1; id <= opts.brokers; id++) {
      const port = basePort + id - 1;
      const dataDir = join(dir, `broker-${id}`);
      const args = ['start', '--node-id', String(id), '--etcd', opts.brokerEtcd?.[id] ?? etcd.endpoint, '--host', '127.0.0.1', '--port', String(port), '--data-dir', dataDir];
      if (opts.etcdPrefix !== undefined) args.push('--etcd-prefix', opts.etcdPrefix);
      if (opts.metricsBasePort !== undefined) args.push('--metrics-port', String(opts.metricsBasePort + id - 1));
      for (const [k, v] of Object.entries({ ...opts.settings, ...opts.brokerSettings?.[id] })) args.push('--set', `${k}=${v}`);
      const metricsUrl = opts.metricsBasePort !== undefined ? `http://127.0.0.1:${opts.metricsBasePort + id - 1}/metrics` : undefined;
      const broker = new BrokerProcess(id, port, dataDir, join(dir, `broker-${id}.log`), args, timing, metricsUrl);
      brokers.push(broker);
      await broker.start();
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  return { etcd, brokers, bootstrapServers: brokers.map((b) => b.address).join(','), dir, stop: stopAll };
}

export function formatDevClusterSummary(c: DevCluster): string {
  const lines = [
    `Dev cluster up: ${c.brokers.length} broker(s), etcd at ${c.etcd.endpoint}`,
    `  bootstrap servers: ${c.bootstrapServers}`,
    `  etcd:     ${c.etcd.endpoint}  data ${join(c.dir, 'etcd')}  log ${join(c.dir, 'etcd.log')}`,
    ...c.brokers.map((b) => `  broker ${b.nodeId}: ${b.address}  data ${b.dataDir}  log ${b.logFile}  pid ${b.pid}${b.metricsUrl ? `  metrics ${b.metricsUrl}` : ''}`),
    `Try: tributary cluster status -b ${c.bootstrapServers}`,
    'Ctrl-C stops the brokers, then etcd.',
  ];
  return lines.join('\n') + '\n';
}

function collectSet(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--set expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

interface DevClusterFlags {
  brokers: number;
  dir: string;
  basePort: number;
  etcdPort: number;
  etcdPrefix?: string;
  metricsPort?: number;
  set: Record<string, string>;
}

/** `cliEntry`: what the brokers run (default this build's CLI); tests register the command with a stand-in. */
export function registerDevCluster(program: Command, options: { cliEntry?: string } = {}): void {
  program
    .command('dev-cluster')
    .description('Run etcd and N brokers on this machine in the foreground, for development')
    .option('--brokers <n>', 'number of brokers (node ids 1..n)', intOption('--brokers', 1), 3)
    .option('--dir <dir>', 'etcd data, broker data directories and logs go here', './dev-cluster')
    .option('--base-port <port>', 'broker i listens on base-port + i - 1', intOption('--base-port', 1), 9092)
    .option('--etcd-port <port>', "etcd's client port (its peer port is the next one)", intOption('--etcd-port', 1), 2379)
    .option('--etcd-prefix <prefix>', 'etcd key prefix passed to every broker')
    .option('--metrics-port <port>', 'broker i serves Prometheus metrics on metrics-port + i - 1 (off by default)', intOption('--metrics-port', 1))
    .option('--set <key=value>', 'a broker config key for every broker (repeatable)', collectSet, {})
    .addHelpText('after', `
Examples:
  $ tributary dev-cluster --brokers 3
  $ tributary dev-cluster --brokers 3 --dir /tmp/dc --base-port 19092 --etcd-port 12379 --set default.replication.factor=3

Needs etcd on PATH (Debian: apt-get install etcd-server). Everything listens on 127.0.0.1. Each broker's output
goes to <dir>/broker-<i>.log, etcd's to <dir>/etcd.log. Ctrl-C or SIGTERM stops the brokers (SIGTERM, then
SIGKILL after 10 s), then etcd; the data stays in <dir> for the next run.`)
    .action(action(async (opts: DevClusterFlags) => {
      if (opts.basePort + opts.brokers - 1 > 65535 || opts.etcdPort + 1 > 65535 || (opts.metricsPort ?? 0) + opts.brokers - 1 > 65535) throw new UsageError('ports must stay within 1-65535');
      const c = await startDevCluster({
        brokers: opts.brokers, dir: opts.dir, basePort: opts.basePort, etcdPort: opts.etcdPort, etcdPrefix: opts.etcdPrefix,
        settings: opts.set, metricsBasePort: opts.metricsPort, detached: true, cliEntry: options.cliEntry,
      });
      process.stdout.write(formatDevClusterSummary(c));
      await new Promise<void>((res) => {
        let stopping = false;
        const onSignal = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          process.stdout.write(`${signal}: stopping the brokers, then etcd…\n`);
          c.stop().then(res, (err: unknown) => {
            process.stderr.write(`error: stopping the dev cluster: ${(err as Error).message}\n`);
            process.exitCode = 1;
            res();
          });
        };
        process.on('SIGINT', () => onSignal('SIGINT'));
        process.on('SIGTERM', () => onSignal('SIGTERM'));
        // A broker that dies on its own is reported, the others keep running (restart it by hand or stop all).
        for (const b of c.brokers) {
          void b.exited().then((code) => {
            if (!stopping) process.stderr.write(`broker ${b.nodeId} exited (${code ?? 'signal'}); see ${b.logFile}\n`);
          });
        }
      });
    }));
}
