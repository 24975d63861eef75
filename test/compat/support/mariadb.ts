/**
 * A throwaway MariaDB for one test file: a fresh datadir in a temp dir, `mariadbd` on a free loopback port,
 * database `tributary` and a password user. No system service and no config file is involved
 * (`--no-defaults`), so it runs the same on a developer machine and in CI.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { findProgram, removeDirOnExit, ServerProcess, abandon, testDatabase, TEST_DATABASE, TEST_PASSWORD, TEST_USER, type TestDatabase } from './db-server.js';
import { freePort } from '../../helpers/free-ports.js';
import { run } from './processes.js';

export type { TestDatabase } from './db-server.js';

const READY = /ready for connections/;

export async function startMariadb(options: { serverArgs?: readonly string[] } = {}): Promise<TestDatabase> {
  const server = findProgram(['mariadbd', 'mysqld']);
  const installDb = findProgram(['mariadb-install-db', 'mysql_install_db']);
  const dir = await mkdtemp(join(tmpdir(), 'tributary-mariadb-'));
  removeDirOnExit(dir);
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  // mariadbd refuses to run as root unless told to; as any other user it runs as that user.
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  // Small InnoDB files and buffers: a few MB of test data, two cores shared with other tests.
  const sizing = ['--innodb-log-file-size=8M', '--innodb-buffer-pool-size=32M'];
  let process_: ServerProcess | undefined;
  try {
    await run(installDb, ['--no-defaults', `--datadir=${dataDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot, ...sizing], {
      cwd: dir,
      timeoutMs: 60_000,
    });
    const port = await freePort();
    process_ = new ServerProcess({
      command: server,
      args: [
        '--no-defaults',
        `--datadir=${dataDir}`,
        `--socket=${socket}`,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--pid-file=${join(dir, 'mysqld.pid')}`,
        '--skip-name-resolve',
        '--performance-schema=OFF',
        '--character-set-server=utf8mb4',
        // Commits reach the OS at once: they survive a killed server (not a power cut), without an fsync each.
        '--innodb-flush-log-at-trx-commit=2',
        ...sizing,
        ...asRoot,
        ...(options.serverArgs ?? []),
      ],
      ready: READY,
      readyTimeoutMs: 30_000,
      cwd: dir,
    });
    await process_.start();

    // mariadb-install-db made root without a password (loopback only); the sink gets a real user with one.
    const admin = await mysql.createConnection({ socketPath: socket, user: 'root', connectTimeout: 10_000 });
    try {
      await admin.query(`CREATE DATABASE ${TEST_DATABASE} CHARACTER SET utf8mb4`);
      await admin.query(`CREATE USER '${TEST_USER}'@'%' IDENTIFIED BY '${TEST_PASSWORD}'`);
      await admin.query(`GRANT ALL PRIVILEGES ON ${TEST_DATABASE}.* TO '${TEST_USER}'@'%'`);
    } finally {
      await admin.end();
    }

    // SIGTERM is mariadbd's clean shutdown.
    return testDatabase(process_, dir, {
      url: `mysql://${TEST_USER}:${TEST_PASSWORD}@127.0.0.1:${port}/${TEST_DATABASE}`,
      adminUrl: `mysql://root@127.0.0.1:${port}/${TEST_DATABASE}`,
      port,
    }, 'SIGTERM');
  } catch (error) {
    await abandon(process_, dir);
    throw error;
  }
}
