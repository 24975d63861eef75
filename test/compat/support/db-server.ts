/**
 * A database server (mariadbd, postgres) as a child process of the test, in its own process group, so
 * that kill() can take the server and every backend it forked down at once, like a machine losing power.
 * Every wait has a deadline; whatever a failed or interrupted test left running is SIGKILLed, and its temp
 * dir deleted, when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { tail } from './processes.js';

export interface TestDatabase {
  /** URL of the test user on database `tributary`, for the sink. */
  readonly url: string;
  /** URL of the superuser on database `tributary`, for setup and checks behind the sink's back. */
  readonly adminUrl: string;
  readonly port: number;
  /** Shuts the server down cleanly and deletes its data. */
  stop(): Promise<void>;
  /** SIGKILLs the server and its processes (a crash); restart() brings it back with the same data. */
  kill(): void;
  /** Starts the server again on the same port and data (after kill(), or a running one is shut down first). */
  restart(): Promise<void>;
  /** The server's recent log, for failure messages. */
  output(): string;
}

export const TEST_USER = 'tributary';
export const TEST_PASSWORD = 'tributary-secret';
export const TEST_DATABASE = 'tributary';

/** The first of `names` found in the usual Debian locations or on PATH. */
export function findProgram(names: readonly string[], dirs: readonly string[] = []): string {
  const path = [...dirs, ...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const name of names) {
    for (const dir of path) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error(`none of ${names.join(', ')} is installed (apt-get install mariadb-server postgresql)`);
}

/** Servers still running (their pids), SIGKILLed with their processes when the test process exits. */
const live = new Set<number>();
/** Temp dirs of servers not yet stopped, deleted when the test process exits. */
const dirs = new Set<string>();
let hooked = false;

/** Deletes `dir` when the test process exits, unless forgetDirOnExit() was called first. */
export function removeDirOnExit(dir: string): void {
  hookExit();
  dirs.add(dir);
}

export function forgetDirOnExit(dir: string): void {
  dirs.delete(dir);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Every process descended from `pid`, from the parent links in /proc (Linux). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // "pid (comm) state ppid …": comm may hold spaces and parentheses, so parse after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/**
 * SIGKILLs `pid`, its process group and every descendant. The group alone is not enough: PostgreSQL's
 * backends call setsid(), and would go on serving their connections after the postmaster died. The server
 * is stopped first so that it cannot fork while its children are being listed.
 */
function killTree(pid: number): void {
  signal(pid, 'SIGSTOP');
  for (const child of descendants(pid)) signal(child, 'SIGKILL');
  signal(-pid, 'SIGKILL');
  signal(pid, 'SIGKILL');
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  const killAll = (): void => {
    for (const pid of live) killTree(pid);
    live.clear();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    dirs.clear();
  };
  process.on('exit', killAll);
  // A test run stopped by a signal (a runner's timeout, Ctrl-C) skips 'exit': kill, then die of the signal.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAll();
      process.kill(process.pid, sig);
    });
  }
}

/**
 * The TestDatabase of a started server: `shutdown` is its clean-shutdown signal (mariadbd: SIGTERM;
 * postgres: SIGINT, the "fast" shutdown that does not wait for clients); stop() also deletes `dir`.
 */
export function testDatabase(server: ServerProcess, dir: string, urls: { url: string; adminUrl: string; port: number }, shutdown: NodeJS.Signals): TestDatabase {
  return {
    ...urls,
    async stop() {
      try {
        await server.stop(shutdown);
      } finally {
        await rm(dir, { recursive: true, force: true });
        forgetDirOnExit(dir);
      }
    },
    kill() {
      server.kill();
    },
    async restart() {
      if (server.running) await server.stop(shutdown);
      await server.waitExit();
      await server.start();
    },
    output: () => server.output(),
  };
}

/** After a failed start: the server (if any) killed, its directory deleted. */
export async function abandon(server: ServerProcess | undefined, dir: string): Promise<void> {
  if (server) await server.stop('SIGKILL');
  await rm(dir, { recursive: true, force: true });
  forgetDirOnExit(dir);
}

export interface ServerProcessOptions {
  command: string;
  args: readonly string[];
  /** The server's log line that says it accepts connections. */
  ready: RegExp;
  readyTimeoutMs: number;
  cwd?: string;
  uid?: number;
  gid?: number;
  env?: NodeJS.ProcessEnv;
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';

  constructor(private readonly options: ServerProcessOptions) {}

  /** The last few KB of the server's output, for failure messages. */
  output(): string {
    return tail(this.log, 4000);
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns the server and resolves once it logged `ready`; rejects (and kills it) on exit or deadline. */
  async start(): Promise<void> {
    if (this.running) throw new Error(`${this.options.command} is already running`);
    hookExit();
    const { command, args, ready, readyTimeoutMs } = this.options;
    const child = spawn(command, args, {
      cwd: this.options.cwd,
      uid: this.options.uid,
      gid: this.options.gid,
      env: this.options.env ?? process.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const pid = child.pid;
    this.exited = new Promise((resolve) => child.once('exit', () => {
      if (pid !== undefined) live.delete(pid);
      resolve();
    }));
    if (pid === undefined) {
      const [error] = (await once(child, 'error')) as [Error];
      throw error;
    }
    live.add(pid);
    // A forgotten server must not keep the test process alive: the exit hook kills it instead.
    child.unref();
    (child.stdout as unknown as { unref(): void }).unref();
    (child.stderr as unknown as { unref(): void }).unref();

    await new Promise<void>((resolve, reject) => {
      let done = false;
      let scanned = '';
      const timer = setTimeout(() => finish(new Error(`${command} not ready within ${readyTimeoutMs} ms\n${this.output()}`)), readyTimeoutMs);
      const onData = (chunk: Buffer): void => {
        const text = chunk.toString('utf8');
        // Keep reading forever (a full pipe would block the server) but remember only the tail.
        this.log = (this.log + text).slice(-16_000);
        if (done) return;
        scanned = (scanned + text).slice(-4000);
        if (ready.test(scanned)) finish();
      };
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
        finish(new Error(`${command} exited (${code ?? signal}) before it was ready\n${this.output()}`));
      function finish(error?: Error): void {
        if (done) return;
        done = true;
        clearTimeout(timer);
        child.off('exit', onExit);
        if (error) {
          if (child.exitCode === null && child.signalCode === null) killTree(pid!);
          reject(error);
        } else {
          resolve();
        }
      }
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', onExit);
    });
  }

  /**
   * SIGKILLs the server and every process it forked, at once (the signal takes effect before any of them
   * runs again): a crash, nothing gets shut down cleanly.
   */
  kill(): void {
    const pid = this.child?.pid;
    if (pid !== undefined && this.running) killTree(pid);
  }

  /** Resolves when the server process has exited (at once when it is not running). */
  async waitExit(): Promise<void> {
    await this.exited;
  }

  /** Sends `signal` (the server's clean-shutdown signal), SIGKILLs the group after `graceMs`. */
  async stop(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (child === undefined || child.pid === undefined) return;
    const pid = child.pid;
    if (this.running) child.kill(signal);
    const timer = setTimeout(() => killTree(pid), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}
