import { fingerprint, offsetKey } from '../../../src/connect/source-offsets.js';
import type { SourceContext, SourceOffset, SourceRecord } from '../../../src/connect/types.js';

/**
 * Offsets kept in memory as the runtime keeps them in connect-offsets: `store(r)` after a record is produced
 * (with its fingerprint), `context` for the next run, `notes` what the source told the user.
 */
export function memoryOffsets(): { context: SourceContext; store: (r: SourceRecord) => void; notes: string[] } {
  const byKey = new Map<string, SourceOffset>();
  const notes: string[] = [];
  return {
    notes,
    context: { offset: (partition) => byKey.get(offsetKey('p', partition)) ?? null, log: (m) => void notes.push(m) },
    store: (r) => void byKey.set(offsetKey('p', r.sourcePartition!), { ...(r.sourceOffset as SourceOffset), last: fingerprint(r) }),
  };
}

/**
 * A record with a value (and key) the CSV source hands on as JSON bytes read back as what they encode (an object;
 * text), so tests of the record contents hold for either path.
 */
export function decoded(r: SourceRecord): SourceRecord {
  if (!Buffer.isBuffer(r.value) && !Buffer.isBuffer(r.key)) return r;
  return { ...r, key: Buffer.isBuffer(r.key) ? r.key.toString('utf8') : r.key, value: Buffer.isBuffer(r.value) ? (JSON.parse(r.value.toString('utf8')) as unknown) : r.value };
}
