/**
 * A throwaway PostgreSQL for one test file: `initdb` into a temp dir, `postgres` on a free loopback port,
 * database `tributary` owned by a password user. PostgreSQL refuses to run as root, so when the tests run
 * as root (CI) both run as the `postgres` OS user that the Debian package creates.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findProgram, removeDirOnExit, ServerProcess, abandon, testDatabase, TEST_DATABASE, TEST_PASSWORD, TEST_USER, type TestDatabase } from './db-server.js';
import { freePort } from '../../helpers/free-ports.js';
import { tail } from './processes.js';

const execFileAsync = promisify(execFile);

/** Debian keeps the server programs in /usr/lib/postgresql/<major>/bin, off PATH; the newest wins. */
function binDirs(): string[] {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((name) => /^\d+$/.test(name))
    .sort((a, b) => Number(b) - Number(a))
    .map((major) => join(root, major, 'bin'));
}

/** uid/gid of the `postgres` OS user when we are root (PostgreSQL will not run as root), else none. */
async function serverUser(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const id = async (flag: string): Promise<number> => Number((await execFileAsync('id', [flag, 'postgres'], { timeout: 10_000 })).stdout.trim());
  try {
    return { uid: await id('-u'), gid: await id('-g') };
  } catch (error) {
    throw new Error('running as root needs the `postgres` OS user (apt-get install postgresql creates it)', { cause: error });
  }
}

const READY = /database system is ready to accept connections/;
const SUPERUSER_PASSWORD = 'postgres-secret';

export async function startPostgres(options: { serverArgs?: readonly string[] } = {}): Promise<TestDatabase> {
  const dirs = binDirs();
  const postgres = findProgram(['postgres'], dirs);
  const initdb = findProgram(['initdb'], dirs);
  const user = await serverUser();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-postgres-'));
  removeDirOnExit(dir);
  const dataDir = join(dir, 'data');
  const env = { ...process.env, LANG: 'C', LC_ALL: 'C' };
  let process_: ServerProcess | undefined;
  try {
    if (user) await chown(dir, user.uid, user.gid);
    const pwfile = join(dir, 'pwfile');
    await writeFile(pwfile, `${SUPERUSER_PASSWORD}\n`);
    if (user) await chown(pwfile, user.uid, user.gid);
    try {
      await execFileAsync(
        initdb,
        // Password auth over TCP (what the sink uses), trust over the private socket (setup); no fsync: test data.
        ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C', '--no-sync', '--no-instructions'],
        { cwd: dir, env, uid: user?.uid, gid: user?.gid, timeout: 60_000, killSignal: 'SIGKILL' },
      );
    } catch (error) {
      const { stderr, stdout } = error as { stderr?: string; stdout?: string };
      throw new Error(`initdb failed: ${(error as Error).message}\n${tail(`${stdout ?? ''}${stderr ?? ''}`)}`, { cause: error });
    }

    const port = await freePort();
    process_ = new ServerProcess({
      command: postgres,
      args: [
        '-D', dataDir,
        '-k', dir,
        '-h', '127.0.0.1',
        '-p', String(port),
        // A killed server loses nothing the OS already has; fsync only matters for a power cut.
        '-c', 'fsync=off',
        '-c', 'shared_buffers=16MB',
        '-c', 'max_connections=40',
        ...(options.serverArgs ?? []),
      ],
      ready: READY,
      readyTimeoutMs: 30_000,
      cwd: dir,
      uid: user?.uid,
      gid: user?.gid,
      env,
    });
    await process_.start();

    const admin = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres', connectionTimeoutMillis: 10_000 });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE ${TEST_USER} LOGIN PASSWORD '${TEST_PASSWORD}'`);
      await admin.query(`CREATE DATABASE ${TEST_DATABASE} OWNER ${TEST_USER}`);
    } finally {
      await admin.end();
    }

    // SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
    return testDatabase(process_, dir, {
      url: `postgres://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${port}/${TEST_DATABASE}`,
      adminUrl: `postgres://postgres:${SUPERUSER_PASSWORD}@127.0.0.1:${port}/${TEST_DATABASE}`,
      port,
    }, 'SIGINT');
  } catch (error) {
    await abandon(process_, dir);
    throw error;
  }
}
