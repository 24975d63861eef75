/**
 * Runs the compiled `tributary` command (the entry in the same build as this test) as a child process
 * with a hard deadline.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * The `tributary` launcher of the build this file was compiled into: bin/tributary.js, which runs the CLI bundle
 * (dist/src/bundle, what users run) after `npm run build`, or the compiled modules after a bare tsc.
 */
export const CLI_ENTRY = resolve(import.meta.dirname, '../../../bin/tributary.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runCommand(process.execPath, [CLI_ENTRY, ...args], options);
}

/** The repository's Kafka-script drop-ins: a directory usable as KAFKA_PATH (its bin/ holds kafka-*.sh). */
export const KAFKA_PATH = resolve(import.meta.dirname, '../../../kafka');

/** Runs `<KAFKA_PATH>/bin/<script>` (e.g. kafka-topics.sh) with this test's Node. */
export function runKafkaScript(script: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runCommand(resolve(KAFKA_PATH, 'bin', script), args, { ...options, env: { TRIBUTARY_NODE: process.execPath, ...options.env } });
}

/** Runs a command with stdin from `input`, collecting stdout and stderr, killed at the deadline. */
export function runCommand(command: string, args: string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timeoutMs = options.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} timed out after ${timeoutMs} ms\nstderr: ${Buffer.concat(err).toString()}`));
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {});
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.input ?? '');
  });
}
