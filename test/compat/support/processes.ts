/**
 * Child processes for tests: every process gets a deadline and is SIGKILLed when it passes,
 * so a wedged client can fail a test but never hang the run.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the child's stdin, which is then closed. */
  input?: string | Buffer;
  /** Hard deadline; the child is SIGKILLed when it passes. Default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolve even when the exit code is not 0 (the caller inspects `code`). */
  allowFailure?: boolean;
}

/** Runs a command to completion and collects its output. Rejects on timeout or (unless allowed) non-zero exit. */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // A child that exits before reading all of its input must not crash the test with EPIPE.
    child.stdin.on('error', () => {});
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      const shown = `${command} ${args.join(' ')}`;
      if (timedOut) {
        reject(new Error(`timed out after ${timeoutMs} ms: ${shown}\nstderr: ${tail(result.stderr)}\nstdout: ${tail(result.stdout)}`));
      } else if (code !== 0 && !options.allowFailure) {
        reject(new Error(`exit ${code ?? signal}: ${shown}\nstderr: ${tail(result.stderr)}\nstdout: ${tail(result.stdout)}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a command whose stdout is one JSON document and parses it. */
export async function runJson<T>(command: string, args: readonly string[], options: RunOptions = {}): Promise<T> {
  const result = await run(command, args, options);
  try {
    return JSON.parse(result.stdout) as T;
  } catch (error) {
    throw new Error(`${command} ${args.join(' ')} printed no JSON\nstdout: ${tail(result.stdout)}\nstderr: ${tail(result.stderr)}`, { cause: error });
  }
}

export function tail(text: string, chars = 2000): string {
  return text.length <= chars ? text : `…${text.slice(-chars)}`;
}

/** Resolves once Date.now() has moved past `ms`, so later records get strictly later timestamps. */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}
