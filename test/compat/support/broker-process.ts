/**
 * Tributary as a separate OS process, started through its CLI (bin/tributary.js), for the crash
 * test (which must SIGKILL it) and the benchmark (which must not share a process with the clients).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { tail } from './processes.js';

/** bin/tributary.js, found from this module's place in dist/test/compat/support/. */
export const CLI_PATH = fileURLToPath(new URL('../../../../bin/tributary.js', import.meta.url));

/** The first endpoint of the listening line ("listening on PLAINTEXT://127.0.0.1:9092,SSL://…"). */
const LISTENING = /listening on (?:[A-Za-z0-9_]+:\/\/)?([^\s",/]+?):(\d+)/;

export interface BrokerProcess {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
  /** host:port, for clients' bootstrap lists. */
  readonly address: string;
  /** Milliseconds from spawn to the "listening on" log line. */
  readonly startupMs: number;
  /** SIGTERM and wait for the exit (SIGKILL after `graceMs`). Resolves to the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL and wait for the exit: a crash, nothing gets flushed. */
  kill(): Promise<void>;
  /** The last few KB of the broker's stdout and stderr, for failure messages. */
  output(): string;
}

export interface SpawnBrokerOptions {
  host?: string;
  /** Broker settings passed as `--set key=value` (Kafka key names). */
  settings?: Record<string, string>;
  /** More CLI arguments for `tributary start` (e.g. `--console-port 0`). */
  args?: string[];
  /** How long to wait for the listening line. Default 15 s. */
  startTimeoutMs?: number;
  /** Flags for the node process itself, before the CLI path (e.g. `--trace-gc`). */
  nodeArgs?: string[];
  /** Sees every chunk the broker writes to stdout (its log lines, and V8's --trace-gc lines). */
  onStdout?: (chunk: Buffer) => void;
}

export async function spawnBroker(dataDir: string, options: SpawnBrokerOptions = {}): Promise<BrokerProcess> {
  const host = options.host ?? '127.0.0.1';
  // With `listeners` among the settings they say where to listen; otherwise --host and a free port.
  const args = options.settings?.listeners ? [CLI_PATH, 'start', '--data-dir', dataDir] : [CLI_PATH, 'start', '--host', host, '--port', '0', '--data-dir', dataDir];
  args.unshift(...(options.nodeArgs ?? []));
  for (const [key, value] of Object.entries(options.settings ?? {})) args.push('--set', `${key}=${value}`);
  args.push(...(options.args ?? []));

  const started = performance.now();
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin.end();
  let log = '';
  const remember = (chunk: Buffer): void => {
    // Keep reading forever (a full pipe would block the broker) but remember only the tail.
    log = (log + chunk.toString('utf8')).slice(-8000);
  };
  child.stderr.on('data', remember);
  if (options.onStdout) child.stdout.on('data', options.onStdout);
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;

  const port = await new Promise<number>((resolve, reject) => {
    let pending = '';
    const timer = setTimeout(() => fail(new Error(`broker did not log "listening on" within ${options.startTimeoutMs ?? 15_000} ms`)), options.startTimeoutMs ?? 15_000);
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString('utf8');
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        const match = LISTENING.exec(line);
        if (match) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          child.off('exit', onExit);
          resolve(Number(match[2]));
          return;
        }
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => fail(new Error(`broker exited (${code ?? signal}) before listening`));
    function fail(error: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.kill('SIGKILL');
      reject(new Error(`${error.message}\n${tail(log + pending)}`));
    }
    child.stdout.on('data', onData);
    child.stdout.on('data', remember);
    child.once('exit', onExit);
  });
  const startupMs = performance.now() - started;

  let exitCode: Promise<number | null> | undefined;
  const waitExit = (): Promise<number | null> => (exitCode ??= exited.then(([code]) => code));
  return {
    pid: child.pid!,
    host,
    port,
    address: `${host}:${port}`,
    startupMs,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      try {
        return await waitExit();
      } finally {
        clearTimeout(timer);
      }
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await waitExit();
    },
    output: () => log,
  };
}
