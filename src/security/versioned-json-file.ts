/**
 * One keyed list of entries kept in a versioned JSON file in the data dir, `{"version":1,"<field>":[...]}`, as
 * the single node's metadata backends store them (ACLs, SCRAM credentials, client quotas). `load` reads it (no
 * file: empty; bad JSON or another version: an error naming the file); `update` writes the changed list
 * atomically (temp file, fsync, rename, directory fsync) and only then takes it as the current one.
 */
import * as fs from 'node:fs';
import { writeFileAtomic } from '../storage/file-io.js';

export interface VersionedJsonFormat<T> {
  /** The array's name in the file. */
  readonly field: string;
  /** An entry's identity: a later entry with the same key replaces it. */
  keyOf(entry: T): string;
  toJson(entry: T): unknown;
  /** Throws on anything that is not an entry. */
  fromJson(v: unknown): T;
}

export class VersionedJsonFile<T> {
  private all = new Map<string, T>();

  constructor(readonly file: string, private readonly format: VersionedJsonFormat<T>) {}

  async load(): Promise<T[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON: ${(err as Error).message}`, { cause: err });
    }
    const entries = parsed?.[this.format.field];
    if (parsed?.version !== 1 || !Array.isArray(entries)) throw new Error(`${this.file}: unsupported format (expected version 1)`);
    const list = entries.map((v) => this.format.fromJson(v));
    this.all = new Map(list.map((e) => [this.format.keyOf(e), e]));
    return list;
  }

  /** Applies `change` to a copy of the entries by key, writes the result, then keeps it. */
  async update(change: (next: Map<string, T>) => void): Promise<void> {
    const next = new Map(this.all);
    change(next);
    const body = { version: 1, [this.format.field]: [...next.values()].map((e) => this.format.toJson(e)) };
    await writeFileAtomic(this.file, `${JSON.stringify(body, null, 1)}\n`);
    this.all = next;
  }
}
