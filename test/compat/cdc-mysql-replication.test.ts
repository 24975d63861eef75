/**
 * MariaDB → `tributary connect` → SQLite under a random workload with a kill -9 of connect (see
 * support/cdc-replication.ts); TRIBUTARY_CDC_CHANGES sets the number of changes (default 10,000).
 */
import { replicationTest, sqliteReplica } from './support/cdc-replication.js';

replicationTest('SQLite', sqliteReplica);
