/**
 * One etcd member as a child process on 127.0.0.1, for `tributary dev-cluster` and tests: its data under a
 * directory of ours, its output in a log file, ready once its /health endpoint says so. Development only — a
 * production cluster runs three etcd members of its own (docs/CLUSTER.md).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync, closeSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const ETCD_NOT_FOUND = 'etcd not found on PATH: apt-get install etcd-server';

export interface EtcdOptions {
  /** etcd's --data-dir. */
  dataDir: string;
  /** Client port (127.0.0.1). */
  clientPort: number;
  /** Peer port (127.0.0.1); default clientPort + 1. */
  peerPort?: number;
  /** etcd's output goes here (appended). */
  logFile: string;
  /** The etcd binary; default: `etcd` found on PATH. */
  binary?: string;
  /** How long to wait for /health. Default 15 s. */
  startTimeoutMs?: number;
  /** Own process group: a terminal's Ctrl-C then reaches only the parent, which stops things in order. */
  detached?: boolean;
}

export interface EtcdHandle {
  /** http://127.0.0.1:<client port>, for --etcd. */
  readonly endpoint: string;
  readonly pid: number;
  /** Sends a signal (SIGKILL: a crash; SIGSTOP / SIGCONT: a pause). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited (at once if it has). */
  exited(): Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs` (default 5 s); resolves once it exited. */
  stop(graceMs?: number): Promise<void>;
  /** Stops it (if running) and starts it again on the same ports and data. */
  restart(): Promise<void>;
}

/** The path of `name` on PATH, or null. */
export function findOnPath(name: string, path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

/** A child process with an exit promise that is already settled once it has exited. */
export interface Child {
  readonly process: ChildProcess;
  readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function exitedAlready(c: Child): boolean {
  return c.process.exitCode !== null || c.process.signalCode !== null;
}

/** SIGTERM, then SIGKILL after graceMs; resolves once the process has exited. */
export async function stopChild(c: Child, graceMs: number): Promise<void> {
  if (exitedAlready(c)) return;
  c.process.kill('SIGTERM');
  const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
  try {
    await c.exit;
  } finally {
    clearTimeout(timer);
  }
}

async function healthy(endpoint: string): Promise<boolean> {
  try {
    const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return res.ok && body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(options: EtcdOptions): Promise<EtcdHandle> {
  const binary = options.binary ?? findOnPath('etcd');
  if (binary === null) throw new Error(ETCD_NOT_FOUND);
  const peerPort = options.peerPort ?? options.clientPort + 1;
  const endpoint = `http://127.0.0.1:${options.clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name', 'dev',
    '--data-dir', options.dataDir,
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `dev=${peer}`, '--initial-cluster-state', 'new',
  ];
  const timeoutMs = options.startTimeoutMs ?? 15_000;
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });

  const launch = async (): Promise<Child> => {
    const log = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(binary, args, { stdio: ['ignore', log, log], detached: options.detached ?? false });
    } finally {
      closeSync(log);
    }
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', () => resolve({ code: null, signal: null }));
    });
    const c: Child = { process: child, exit };
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (exitedAlready(c) || child.pid === undefined) {
        const { code, signal } = await exit;
        throw new Error(`etcd exited (${code ?? signal ?? 'could not start'}) before serving ${endpoint}; see ${options.logFile}`);
      }
      if (await healthy(endpoint)) return c;
      if (Date.now() >= deadline) {
        await stopChild(c, 1000);
        throw new Error(`etcd did not report healthy at ${endpoint}/health within ${timeoutMs} ms; see ${options.logFile}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  let current = await launch();
  return {
    endpoint,
    get pid() {
      return current.process.pid!;
    },
    kill(signal = 'SIGKILL') {
      if (!exitedAlready(current)) current.process.kill(signal);
    },
    exited: async () => {
      await current.exit;
    },
    stop: (graceMs = 5000) => stopChild(current, graceMs),
    async restart() {
      await stopChild(current, 5000);
      current = await launch();
    },
  };
}
