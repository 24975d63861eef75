/**
 * MariaDB → `tributary connect` → PostgreSQL under a random workload with a kill -9 of connect (see
 * support/cdc-replication.ts): the "a table replicated MariaDB → Tributary → PostgreSQL stays identical".
 * TRIBUTARY_CDC_CHANGES sets the number of changes (default 10,000).
 */
import pg from 'pg';
import { replicationTest } from './support/cdc-replication.js';
import { startPostgres } from './support/postgres.js';

replicationTest('PostgreSQL', async () => {
  const server = await startPostgres();
  const query = async (sql: string): Promise<unknown[]> => {
    const client = new pg.Client({ connectionString: server.url });
    await client.connect();
    try {
      return (await client.query(sql)).rows as unknown[];
    } finally {
      await client.end();
    }
  };
  return {
    sink: `{ type: postgres, url: "${server.url}", table: items, cdc: true, guarantee: exactly-once, batchSize: 200 }`,
    async setUp() {
      // The same columns (DECIMAL as NUMERIC, read back as text like mysql2's), and triggers that log every row version the sink applies.
      await query(`CREATE TABLE items (id INTEGER PRIMARY KEY, ver INTEGER NOT NULL, name TEXT NOT NULL, amount NUMERIC(12,2), note TEXT);
        CREATE TABLE applied (id INTEGER, ver INTEGER);
        CREATE FUNCTION log_applied() RETURNS trigger AS $$ BEGIN INSERT INTO applied VALUES (NEW.id, NEW.ver); RETURN NEW; END $$ LANGUAGE plpgsql;
        CREATE TRIGGER items_applied AFTER INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION log_applied();`);
    },
    rows: () => query('SELECT id, ver, name, amount, note FROM items ORDER BY id'),
    appliedTwice: () => query('SELECT id, ver, COUNT(*)::int AS n FROM applied GROUP BY id, ver HAVING COUNT(*) > 1'),
    close: () => server.stop(),
  };
});
