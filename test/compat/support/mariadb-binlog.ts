/** A MariaDB for change data capture: the binary log on, in row format with full row images, and a server id. */
import mysql from 'mysql2/promise';
import { startMariadb, type TestDatabase } from './mariadb.js';
import { TEST_USER } from './db-server.js';

export const BINLOG_ARGS = ['--log-bin=mysql-bin', '--binlog-format=ROW', '--binlog-row-image=FULL', '--server-id=1'];

/** A MariaDB with the binlog on, whose test user has what a CDC user needs (REPLICATION SLAVE, REPLICATION CLIENT, SELECT). */
export async function startBinlogMariadb(): Promise<TestDatabase> {
  const db = await startMariadb({ serverArgs: BINLOG_ARGS });
  const admin = await mysql.createConnection(db.adminUrl);
  try {
    await admin.query(`GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO '${TEST_USER}'@'%'`);
  } finally {
    await admin.end();
  }
  return db;
}
