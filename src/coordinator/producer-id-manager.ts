/**
 * Hands out producer ids (InitProducerId) that are never reused, across restarts too.
 *
 * On disk: `producer-id-block` in the data directory, one line of JSON `{"version":1,"nextBlockStart":N}`:
 * every id below N may have been handed out. Ids come in blocks of BLOCK_SIZE (Kafka's block size); the
 * file is replaced atomically and fsynced with the end of a new block BEFORE the block's first id is given
 * out, so a crash can skip ids but never repeat one.
 *
 * Concurrency: single JS thread; generate() is synchronous (one fsync per BLOCK_SIZE ids).
 *
 * In a cluster the blocks come from etcd instead (ProducerIdManager.fromBlockSource: a compare-and-swap on one
 * counter, so no two brokers get the same block), as Kafka's controller hands out blocks: generate() stays
 * synchronous by keeping the next block fetched ahead; if none has arrived yet it throws
 * COORDINATOR_LOAD_IN_PROGRESS (retriable), as Kafka's RPC producer id manager does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { KafkaError, TributaryError } from '../errors.js';
import { tempPathOf, writeFileAtomicSync } from '../storage/file-io.js';

export const PRODUCER_ID_BLOCK_FILE = 'producer-id-block';
export const BLOCK_SIZE = 1000;
const VERSION = 1;

export class ProducerIdManager {
  private next: bigint;
  private blockEnd: bigint;
  /** Cluster: where blocks come from, the block fetched ahead, and the fetch under way. */
  private source: ((size: number) => Promise<bigint>) | null = null;
  private ahead: bigint | null = null;
  private fetching: Promise<void> | null = null;

  private constructor(
    readonly file: string,
    start: bigint,
    private readonly blockSize: bigint,
  ) {
    this.next = start;
    this.blockEnd = start;
  }

  /** Ids from blocks handed out by `source` (the first id of a fresh block of `size`); call prime() before use. */
  static fromBlockSource(source: (size: number) => Promise<bigint>, opts: { blockSize?: number } = {}): ProducerIdManager {
    const m = new ProducerIdManager('', 0n, BigInt(opts.blockSize ?? BLOCK_SIZE));
    m.source = source;
    return m;
  }

  /** Cluster: fetches the next block if none is waiting (resolves once one is, or the fetch failed). */
  prime(): Promise<void> {
    if (!this.source || this.ahead !== null) return Promise.resolve();
    this.fetching ??= this.source(Number(this.blockSize)).then(
      (start) => {
        this.ahead = start;
        this.fetching = null;
      },
      () => {
        this.fetching = null;
      },
    );
    return this.fetching;
  }

  /** Reads the persisted high-water mark (0 when the file does not exist yet). */
  static open(dataDir: string, opts: { blockSize?: number } = {}): ProducerIdManager {
    const file = path.join(dataDir, PRODUCER_ID_BLOCK_FILE);
    fs.rmSync(tempPathOf(file), { force: true }); // an interrupted atomic write
    let start = 0n;
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, 'utf8');
      let parsed: { version?: unknown; nextBlockStart?: unknown };
      try {
        parsed = JSON.parse(text) as typeof parsed;
      } catch (err) {
        throw new TributaryError('ERR_PRODUCER_ID_BLOCK', `${file} is not valid JSON; refusing to start (ids could be reused)`, { cause: err });
      }
      if (parsed.version !== VERSION || typeof parsed.nextBlockStart !== 'string' || !/^\d+$/.test(parsed.nextBlockStart)) {
        throw new TributaryError('ERR_PRODUCER_ID_BLOCK', `${file} has an unknown layout: ${text.trim()}`);
      }
      start = BigInt(parsed.nextBlockStart);
    }
    return new ProducerIdManager(file, start, BigInt(opts.blockSize ?? BLOCK_SIZE));
  }

  /** The next producer id; persists a new block first when the current one is used up. */
  generate(): bigint {
    if (this.source) {
      if (this.next >= this.blockEnd) {
        if (this.ahead === null) {
          void this.prime();
          throw new KafkaError('COORDINATOR_LOAD_IN_PROGRESS', 'No producer id block is available yet; retry');
        }
        this.next = this.ahead;
        this.blockEnd = this.ahead + this.blockSize;
        this.ahead = null;
        void this.prime();
      }
      return this.next++;
    }
    if (this.next >= this.blockEnd) {
      const end = this.next + this.blockSize;
      writeFileAtomicSync(this.file, `${JSON.stringify({ version: VERSION, nextBlockStart: end.toString() })}\n`);
      this.blockEnd = end;
    }
    return this.next++;
  }
}
