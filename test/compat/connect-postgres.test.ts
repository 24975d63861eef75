/**
 * The PostgreSQL sink against a real PostgreSQL that the test starts (postgres on a free loopback port in
 * a temp dir, as the `postgres` OS user when run as root): the driver's transactions, table description
 * and error classification, then whole pipelines (broker → runSinkPipeline → SqlSink → driver) including
 * DLQ, a crashed sink and a database that goes down and comes back.
 */
import { PostgresDriver } from '../../src/connect/sinks/postgres.js';
import { startPostgres } from './support/postgres.js';
import { driverSuite } from './support/sql-driver-suite.js';
import { sinkSuite } from './support/sql-sink-suite.js';

driverSuite({
  name: 'PostgreSQL',
  start: () => startPostgres({ serverArgs: ['-c', 'lock_timeout=1000'] }),
  driver: (url) => new PostgresDriver(url),
  param: (n) => `$${n}`,
  createTable: (table) =>
    `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, name VARCHAR(20) NOT NULL, age INTEGER, score DOUBLE PRECISION,
     active BOOLEAN, born TIMESTAMPTZ, data BYTEA, big BIGINT)`,
  describedTypes: ['integer', 'character varying(20)', 'integer', 'double precision', 'boolean', 'timestamp with time zone', 'bytea', 'bigint'],
  badValues: [
    { what: 'text into INTEGER', column: 'age', value: 'abc', message: /invalid input syntax for type integer.*22P02/ },
    { what: 'INTEGER out of range', column: 'age', value: 99_999_999_999, message: /out of range.*22003/ },
    { what: 'string too long', column: 'name', value: 'x'.repeat(50), message: /too long.*22001/ },
    { what: 'NULL into NOT NULL', column: 'name', value: null, message: /not-null constraint.*23502/ },
    { what: 'text into DOUBLE PRECISION', column: 'score', value: 'fast', message: /invalid input syntax.*22P02/ },
  ],
});

sinkSuite({
  name: 'PostgreSQL',
  type: 'postgres',
  start: () => startPostgres(),
  driver: (url) => new PostgresDriver(url),
});
