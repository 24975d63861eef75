/**
 * The MySQL/MariaDB sink against a real MariaDB that the test starts (mariadbd on a free loopback port in
 * a temp dir): the driver's transactions, table description and error
 * classification, then whole pipelines (broker → runSinkPipeline → SqlSink → driver) including DLQ, a crashed
 * sink and a database that goes down and comes back.
 */
import { MysqlDriver } from '../../src/connect/sinks/mysql.js';
import { startMariadb } from './support/mariadb.js';
import { driverSuite } from './support/sql-driver-suite.js';
import { sinkSuite } from './support/sql-sink-suite.js';

driverSuite({
  name: 'MariaDB',
  start: () => startMariadb({ serverArgs: ['--innodb-lock-wait-timeout=1'] }),
  driver: (url) => new MysqlDriver(url),
  writeAll: true,
  param: () => '?',
  createTable: (table) =>
    `CREATE TABLE ${table} (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, age INT, score DOUBLE, active BOOLEAN,
     born DATETIME(3), data BLOB, big BIGINT) ENGINE=InnoDB`,
  describedTypes: ['int(11)', 'varchar(20)', 'int(11)', 'double', 'tinyint(1)', 'datetime(3)', 'blob', 'bigint(20)'],
  badValues: [
    { what: 'text into INT', column: 'age', value: 'abc', message: /Incorrect integer value.*ER_TRUNCATED_WRONG_VALUE_FOR_FIELD 1366/ },
    { what: 'INT out of range', column: 'age', value: 99_999_999_999, message: /Out of range.*1264/ },
    { what: 'string too long', column: 'name', value: 'x'.repeat(50), message: /Data too long.*1406/ },
    { what: 'NULL into NOT NULL', column: 'name', value: null, message: /cannot be null.*1048/ },
    { what: 'text into DOUBLE', column: 'score', value: 'fast', message: /1366|1265/ },
  ],
});

sinkSuite({
  name: 'MariaDB',
  type: 'mysql',
  start: () => startMariadb(),
  driver: (url) => new MysqlDriver(url),
});
