/**
 * A PostgreSQL CDC reader in a process of its own, for tests that SIGKILL it mid-stream. argv[2] is JSON
 * `{ url, slot, publication, tables, offset }`. Each event is printed to stdout as a JSON line `{op, id, offset}`
 * and only then acknowledged, so the last complete line is the "stored" offset; the process never exits by itself
 * (SIGTERM stops it cleanly).
 */
import { PostgresCdcSource } from '../../../src/connect/cdc/postgres.js';
import type { CdcOffset } from '../../../src/connect/cdc/change-event.js';

const { url, slot, publication, tables, offset } = JSON.parse(process.argv[2]!) as {
  url: string;
  slot: string;
  publication: string;
  tables: string[];
  offset: CdcOffset | null;
};
const source = new PostgresCdcSource({ url, slot, publication, tables, log: (m) => process.stderr.write(`${m}\n`) });
process.once('SIGTERM', () => void source.stop());
for await (const event of source.events(offset)) {
  const row = event.after ?? event.before;
  // Pipes are synchronous on Linux: the line is out of this process before the acknowledgement.
  process.stdout.write(`${JSON.stringify({ op: event.op, id: row?.id ?? null, offset: event.offset })}\n`);
  source.acknowledge(event.offset);
}
