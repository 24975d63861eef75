/**
 * Sink connectors by type. Database drivers are imported only when their sink is used, so a SQLite or
 * JSON-lines pipeline never loads mysql2 or pg (and a JSON-lines one not even better-sqlite3).
 */
import { SinkError, type SinkConfig, type SinkConnector, type SqlDriver } from '../types.js';
import { SqlSink } from './sql.js';

export { SqlSink } from './sql.js';

async function sqlDriver(config: SinkConfig): Promise<SqlDriver> {
  switch (config.type) {
    case 'sqlite': {
      const { SqliteDriver } = await import('./sqlite.js');
      return new SqliteDriver(config.url);
    }
    case 'mysql': {
      const { MysqlDriver } = await import('./mysql.js');
      return new MysqlDriver(config.url);
    }
    case 'postgres': {
      const { PostgresDriver } = await import('./postgres.js');
      return new PostgresDriver(config.url);
    }
    default:
      throw new SinkError(`'${config.type}' is not a SQL sink`, { retriable: false, code: 'ERR_SINK_CONFIG' });
  }
}

/**
 * The sink for a pipeline's `sink` section. `pipeline` names the pipeline: the key under which exactly-once
 * mode stores its offsets.
 */
export async function createSink(config: SinkConfig, pipeline: string): Promise<SinkConnector> {
  if (config.type === 'jsonl') {
    const { JsonlSink } = await import('./jsonl.js');
    return new JsonlSink({ path: config.url, metadata: config.metadata === true, guarantee: config.guarantee }, pipeline);
  }
  if (config.table === undefined || config.table === '') {
    throw new SinkError(`pipeline '${pipeline}': a ${config.type} sink needs a table`, { retriable: false, code: 'ERR_SINK_CONFIG' });
  }
  const driver = await sqlDriver(config);
  return new SqlSink(driver, { ...config, table: config.table }, pipeline);
}
