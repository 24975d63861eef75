/**
 * `tributary users add|list|remove`: SCRAM credentials (kafka-configs.sh --entity-type users' SCRAM jobs), through
 * AlterUserScramCredentials / DescribeUserScramCredentials. The password is salted and hashed here; it is never
 * sent. It comes from --password, else from the first line of stdin, else from a prompt that does not echo.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { collectList, withAdmin } from './topics-common.js';
import { formatTable } from '../util/format-table.js';
import { SCRAM_DEFAULT_ITERATIONS, SCRAM_MAX_ITERATIONS, SCRAM_MIN_ITERATIONS, isScramMechanism, type ScramMechanismName } from '../security/scram.js';

function parseMechanism(value: string): ScramMechanismName {
  const v = value.toUpperCase();
  if (!isScramMechanism(v)) throw new InvalidArgumentError('expected SCRAM-SHA-256 or SCRAM-SHA-512');
  return v;
}

function collectMechanism(value: string, previous: ScramMechanismName[]): ScramMechanismName[] {
  return [...previous, parseMechanism(value)];
}

function parseIterations(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < SCRAM_MIN_ITERATIONS || n > SCRAM_MAX_ITERATIONS) {
    throw new InvalidArgumentError(`expected an integer from ${SCRAM_MIN_ITERATIONS} to ${SCRAM_MAX_ITERATIONS}`);
  }
  return n;
}

/** The first line of stdin (piped), or a no-echo prompt on a terminal. */
async function readPassword(): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    let text = '';
    for await (const chunk of stdin) {
      text += String(chunk);
      if (text.includes('\n') || text.length > 64 * 1024) break;
    }
    const line = text.split(/\r?\n/)[0] ?? '';
    if (line === '') throw new UsageError('no password: give --password, or pipe it on stdin');
    return line;
  }
  process.stderr.write('Password: ');
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let pw = '';
      const onData = (chunk: Buffer): void => {
        for (const ch of chunk.toString('utf8')) {
          if (ch === '\r' || ch === '\n') { stdin.off('data', onData); process.stderr.write('\n'); resolve(pw); return; }
          if (ch === '\u0003') { stdin.off('data', onData); reject(new UsageError('cancelled')); return; }
          if (ch === '\u007f' || ch === '\b') pw = pw.slice(0, -1);
          else pw += ch;
        }
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

interface AddFlags extends ClientFlags {
  user: string;
  mechanism: ScramMechanismName[];
  iterations: number;
  password?: string;
}

interface ListFlags extends ClientFlags {
  user: string[];
}

interface RemoveFlags extends ClientFlags {
  user: string;
  mechanism: ScramMechanismName[];
}

function reportResults(results: Array<{ user: string; error: Error | null }>, done: string): void {
  const failed = results.filter((r) => r.error);
  for (const r of results) if (!r.error) process.stdout.write(`${done} '${r.user}'.\n`);
  if (failed.length > 0) throw new Error(failed.map((r) => r.error!.message).join('\n'));
}

export function registerUsers(program: Command): void {
  const users = program.command('users').description('Add, list and remove SCRAM users (SCRAM-SHA-256 / SCRAM-SHA-512 credentials)');
  users.addHelpText('after', `
Examples:
  $ tributary users add --user alice --password alice-secret
  $ echo alice-secret | tributary users add --user alice --mechanism SCRAM-SHA-512 --iterations 8192
  $ tributary users list
  $ tributary users remove --user alice --mechanism SCRAM-SHA-256`);

  const add = users
    .command('add')
    .description('Create or replace a user\'s SCRAM credential (the password is salted and hashed before it is sent)')
    .requiredOption('-u, --user <name>', 'user name')
    .option('-m, --mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable; default SCRAM-SHA-256)', collectMechanism, [])
    .option('-i, --iterations <n>', `PBKDF2 iterations, ${SCRAM_MIN_ITERATIONS}-${SCRAM_MAX_ITERATIONS}`, parseIterations, SCRAM_DEFAULT_ITERATIONS)
    .option('-p, --password <password>', 'the password (else the first line of stdin, or a prompt)');
  addClientFlags(add).action(action(async (opts: AddFlags) => {
    const password = opts.password ?? await readPassword();
    const mechanisms = opts.mechanism.length > 0 ? [...new Set(opts.mechanism)] : ['SCRAM-SHA-256' as const];
    const results = await withAdmin(opts, (admin) => admin.alterUserScramCredentials(
      mechanisms.map((mechanism) => ({ user: opts.user, mechanism, password, iterations: opts.iterations }))));
    reportResults(results, `Credential (${mechanisms.join(', ')}) stored for user`);
  }));

  const list = users
    .command('list')
    .description('List users with SCRAM credentials: mechanism and iterations (never salts or keys)')
    .option('-u, --user <name>', 'only this user (repeatable)', collectList, []);
  addClientFlags(list).action(action(async (opts: ListFlags) => {
    const described = await withAdmin(opts, (admin) => admin.describeUserScramCredentials(opts.user));
    const rows = described.flatMap((d) => d.credentials.map((c) => [d.user, c.mechanism, c.iterations]));
    process.stdout.write(`${formatTable(['USER', 'MECHANISM', 'ITERATIONS'], rows)}\n`);
  }));

  const remove = users
    .command('remove')
    .description('Delete a user\'s SCRAM credentials (both mechanisms unless --mechanism is given)')
    .requiredOption('-u, --user <name>', 'user name')
    .option('-m, --mechanism <mechanism>', 'SCRAM-SHA-256 or SCRAM-SHA-512 (repeatable)', collectMechanism, []);
  addClientFlags(remove).action(action(async (opts: RemoveFlags) => {
    const results = await withAdmin(opts, async (admin) => {
      let mechanisms = [...new Set(opts.mechanism)];
      if (mechanisms.length === 0) {
        const [d] = await admin.describeUserScramCredentials([opts.user]);
        mechanisms = (d?.credentials ?? []).map((c) => c.mechanism).filter(isScramMechanism);
      }
      return admin.alterUserScramCredentials(mechanisms.map((mechanism) => ({ user: opts.user, mechanism, delete: true as const })));
    });
    reportResults(results, 'Credentials removed for user');
  }));
}
