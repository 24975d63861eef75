/**
 * The cleaner's key → latest offset map over the dirty part of a log (Kafka's SkimpyOffsetMap, in spirit).
 * Keys up to 24 bytes are stored as they are; longer keys by their MD5 digest, as Kafka stores every key (two
 * keys with one digest would let the newer one supersede the other: 2^-128 odds, accepted there too).
 *
 * Capacity follows Kafka's sizing, so `log.cleaner.dedupe.buffer.size` means what it means there: 24 bytes
 * per slot (16-byte hash + 8-byte offset), filled to `log.cleaner.io.buffer.load.factor`. When the map is full
 * the cleaner stops mapping and cleans what it mapped; the rest is cleaned in a later pass.
 */
import { createHash } from 'node:crypto';

const BYTES_PER_ENTRY = 24;
const INLINE_KEY_BYTES = 24;

export class OffsetMap {
  private readonly map = new Map<string, number>();
  /** Entries allowed. */
  readonly capacity: number;
  /** The largest offset put, -1 when empty. */
  latestOffset = -1;

  constructor(bufferBytes: number, loadFactor = 0.9) {
    this.capacity = Math.max(0, Math.floor((Math.floor(bufferBytes / BYTES_PER_ENTRY) * loadFactor)));
  }

  get size(): number {
    return this.map.size;
  }

  get isFull(): boolean {
    return this.map.size >= this.capacity;
  }

  /** Records `offset` as the latest of `key`; false (nothing changed) when the key is new and the map is full. */
  put(key: Buffer, offset: number): boolean {
    const k = mapKey(key);
    if (this.map.size >= this.capacity && !this.map.has(k)) return false;
    this.map.set(k, offset);
    if (offset > this.latestOffset) this.latestOffset = offset;
    return true;
  }

  /** The latest offset of `key`, or -1 if it is not in the map. */
  get(key: Buffer): number {
    return this.map.get(mapKey(key)) ?? -1;
  }

  clear(): void {
    this.map.clear();
    this.latestOffset = -1;
  }
}

function mapKey(key: Buffer): string {
  // The first character tells the two forms apart, so a short key can never equal a digest.
  return key.length <= INLINE_KEY_BYTES ? 'k' + key.toString('latin1') : 'h' + createHash('md5').update(key).digest().toString('latin1');
}
