/**
 * JSON-lines file sink: appends one JSON object per record (the record's value, plus `_topic`, `_partition`,
 * `_offset` with `metadata`), and fsyncs the file once per write().
 *
 * Exactly-once: after the data is fsynced, a sidecar `<path>.offsets.json` is replaced atomically (write a temp
 * file, fsync, rename, fsync the directory) with the next offsets AND the file's length at that point. The
 * window between the data fsync and the rename is closed on open(): a data file longer than the sidecar says
 * holds a batch whose offsets were never stored, so it is truncated back and that batch is consumed again.
 * This assumes this sink is the file's only writer (one process per output file).
 */
import { mkdir, open, rename, readFile, stat, truncate, type FileHandle } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { SinkError, type RecordFailure, type SinkConnector, type SinkRecord, type TopicPartitionOffset } from '../types.js';
import { parseRecordValue } from './sql.js';

export interface JsonlSinkOptions {
  path: string;
  /** Add `_topic`, `_partition`, `_offset` to every line. */
  metadata?: boolean;
  guarantee: 'at-least-once' | 'exactly-once';
}

interface Sidecar {
  /** Length of the data file when these offsets were stored. */
  bytes: number;
  offsets: Array<{ pipeline: string; topic: string; partition: number; offset: number }>;
}

const RETRIABLE_FS = new Set(['ENOSPC', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'EDQUOT', 'ESTALE']);

function fsError(err: unknown, what: string): SinkError {
  const code = (err as { code?: string }).code;
  return new SinkError(`${what}: ${(err as Error).message}`, { retriable: code !== undefined && RETRIABLE_FS.has(code), cause: err });
}

export class JsonlSink implements SinkConnector {
  readonly name: string;
  readonly sidecarPath: string;
  private file: FileHandle | null = null;
  private size = 0;
  private stored = new Map<string, Sidecar['offsets'][number]>();

  constructor(private readonly options: JsonlSinkOptions, private readonly pipeline: string) {
    if (options.path === '') throw new SinkError('jsonl sink needs a file path (url: ./out.jsonl)', { retriable: false, code: 'ERR_SINK_CONFIG' });
    this.name = pipeline;
    this.sidecarPath = join(dirname(options.path), `${basename(options.path)}.offsets.json`);
  }

  async open(): Promise<void> {
    try {
      await mkdir(dirname(this.options.path), { recursive: true });
      if (this.options.guarantee === 'exactly-once') await this.recover();
      this.file = await open(this.options.path, 'a');
      this.size = (await this.file.stat()).size;
    } catch (err) {
      if (err instanceof SinkError) throw err;
      throw fsError(err, `cannot open '${this.options.path}'`);
    }
  }

  async write(records: SinkRecord[], offsets?: TopicPartitionOffset[]): Promise<RecordFailure[]> {
    if (!this.file) throw new SinkError(`jsonl sink '${this.options.path}' is not open`, { retriable: false, code: 'ERR_SINK_CLOSED' });
    const failures: RecordFailure[] = [];
    const lines: string[] = [];
    for (const record of records) {
      const fields = parseRecordValue(record);
      if (fields instanceof Error) {
        failures.push({ record, error: fields });
        continue;
      }
      const out = this.options.metadata ? { ...fields, _topic: record.topic, _partition: record.partition, _offset: record.offset } : fields;
      lines.push(`${JSON.stringify(out)}\n`);
    }
    const data = Buffer.from(lines.join(''), 'utf8');
    const before = this.size;
    try {
      if (data.length > 0) {
        await this.file.write(data, 0, data.length, null);
        await this.file.datasync();
      }
    } catch (err) {
      // A partial append would be written again by the retry: cut it off (best effort).
      await this.file.truncate(before).catch(() => undefined);
      throw fsError(err, `cannot append to '${this.options.path}'`);
    }
    this.size = before + data.length;
    if (offsets !== undefined && offsets.length > 0) {
      const stored = new Map(this.stored);
      for (const o of offsets) stored.set(`${o.topic}\u0000${o.partition}`, { pipeline: this.pipeline, topic: o.topic, partition: o.partition, offset: o.offset });
      try {
        await this.writeSidecar(stored);
      } catch (err) {
        // The batch counts as not written: take its lines back so the retry does not duplicate them.
        await this.file.truncate(before).catch(() => undefined);
        this.size = before;
        throw err;
      }
      this.stored = stored;
    }
    return failures;
  }

  async storedOffsets(pipeline: string, partitions: Array<{ topic: string; partition: number }>): Promise<TopicPartitionOffset[]> {
    const out: TopicPartitionOffset[] = [];
    for (const p of partitions) {
      const s = this.stored.get(`${p.topic}\u0000${p.partition}`);
      if (s && s.pipeline === pipeline) out.push({ topic: s.topic, partition: s.partition, offset: s.offset });
    }
    return out;
  }

  async close(): Promise<void> {
    await this.file?.close();
    this.file = null;
  }

  /** Loads the sidecar and truncates a data tail written after it (a batch whose offsets were never stored). */
  private async recover(): Promise<void> {
    let sidecar: Sidecar | null = null;
    try {
      sidecar = JSON.parse(await readFile(this.sidecarPath, 'utf8')) as Sidecar;
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw new SinkError(`cannot read '${this.sidecarPath}': ${(err as Error).message}`, { retriable: false, cause: err });
    }
    if (sidecar === null) return;
    this.stored = new Map(sidecar.offsets.map((o) => [`${o.topic}\u0000${o.partition}`, o]));
    const size = await stat(this.options.path).then((s) => s.size, () => 0);
    if (size > sidecar.bytes) await truncate(this.options.path, sidecar.bytes);
  }

  private async writeSidecar(stored: Map<string, Sidecar['offsets'][number]>): Promise<void> {
    const body: Sidecar = { bytes: this.size, offsets: [...stored.values()] };
    const tmp = `${this.sidecarPath}.tmp`;
    try {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(JSON.stringify(body));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.sidecarPath);
      // The rename itself must reach the disk, or a crash could bring back the old sidecar.
      const dir = await open(dirname(this.sidecarPath), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch (err) {
      throw fsError(err, `cannot store offsets in '${this.sidecarPath}'`);
    }
  }
}
