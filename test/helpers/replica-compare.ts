/**
 * "Replicas byte-identical after healing": compares one partition's log across several brokers' data
 * directories. A follower appends the leader's batches exactly as the leader wrote them (offsets and leader
 * epoch stamped by the leader), so the partition's log — its `.log` segments in base-offset order, read as one
 * byte stream — must be identical on every replica up to the shortest replica's end. Segment boundaries may
 * differ between replicas (each rolls its own segments), so segments are not compared file by file.
 *
 * Assumes the replicas share their log start (no retention or DeleteRecords ran on one of them only); a
 * different first segment is reported as such. Reads whole logs into memory: for test-sized partitions.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReplicaLog {
  readonly dataDir: string;
  /** Base offset of the first segment (-1 when the partition has no segment there). */
  readonly firstSegmentBaseOffset: number;
  /** Total bytes of the .log segments. */
  readonly bytes: number;
  readonly segments: string[];
}

export interface ReplicaDifference {
  /** The replica that differs from the first one (`replicas[0]`). */
  readonly dataDir: string;
  /** Byte position in the partition's concatenated log. */
  readonly position: number;
  /** The segment file holding that byte on the differing replica, and the byte's position in it. */
  readonly segment: string;
  readonly positionInSegment: number;
  /** Base offset of the record batch holding the byte on the first replica (-1 if it could not be walked). */
  readonly batchBaseOffset: number;
}

export interface ReplicaComparison {
  readonly replicas: ReplicaLog[];
  /** Bytes compared: the shortest replica's log length. */
  readonly comparedBytes: number;
  readonly identical: boolean;
  readonly difference: ReplicaDifference | null;
  /** A reason that is not a byte difference (a replica without the partition, different log starts). */
  readonly problem: string | null;
}

const LOG_SUFFIX = '.log';
/** `<20-digit base offset>.log`: what storage/log-segment.ts names a segment. */
const SEGMENT = /^(\d{20})\.log$/;

async function readReplica(dataDir: string, topic: string, partition: number): Promise<{ log: ReplicaLog; data: Buffer; starts: number[] }> {
  const dir = join(dataDir, `${topic}-${partition}`);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => SEGMENT.test(n)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    names = [];
  }
  const chunks = await Promise.all(names.map((n) => readFile(join(dir, n))));
  const starts: number[] = [];
  let at = 0;
  for (const c of chunks) {
    starts.push(at);
    at += c.length;
  }
  return {
    log: { dataDir, firstSegmentBaseOffset: names.length > 0 ? Number(names[0]!.slice(0, -LOG_SUFFIX.length)) : -1, bytes: at, segments: names },
    data: Buffer.concat(chunks),
    starts,
  };
}

/** The base offset of the v2 batch containing byte `position` of a concatenated log (baseOffset int64, batchLength int32). */
function batchAt(data: Buffer, position: number): number {
  let at = 0;
  while (at + 12 <= data.length) {
    const end = at + 12 + data.readInt32BE(at + 8);
    if (position < end) return Number(data.readBigInt64BE(at));
    if (end <= at) return -1;
    at = end;
  }
  return -1;
}

/** Compares `topic`-`partition` across the data directories (at least two), against the first one. */
export async function compareReplicas(dataDirs: readonly string[], topic: string, partition: number): Promise<ReplicaComparison> {
  if (dataDirs.length < 2) throw new Error('compareReplicas needs at least two data directories');
  const read = await Promise.all(dataDirs.map((d) => readReplica(d, topic, partition)));
  const replicas = read.map((r) => r.log);
  const comparedBytes = Math.min(...replicas.map((r) => r.bytes));
  const missing = replicas.find((r) => r.segments.length === 0);
  if (missing) return { replicas, comparedBytes: 0, identical: false, difference: null, problem: `${missing.dataDir} has no segment of ${topic}-${partition}` };
  const start = replicas[0]!.firstSegmentBaseOffset;
  const otherStart = replicas.find((r) => r.firstSegmentBaseOffset !== start);
  if (otherStart) {
    return { replicas, comparedBytes: 0, identical: false, difference: null, problem: `log starts differ: ${replicas.map((r) => `${r.dataDir} at segment ${r.firstSegmentBaseOffset}`).join(', ')}` };
  }
  const reference = read[0]!.data;
  for (let i = 1; i < read.length; i++) {
    const other = read[i]!;
    const a = reference.subarray(0, comparedBytes);
    const b = other.data.subarray(0, comparedBytes);
    if (a.equals(b)) continue;
    let position = 0;
    while (a[position] === b[position]) position++;
    let s = other.starts.length - 1;
    while (other.starts[s]! > position) s--;
    return {
      replicas,
      comparedBytes,
      identical: false,
      difference: {
        dataDir: other.log.dataDir,
        position,
        segment: other.log.segments[s]!,
        positionInSegment: position - other.starts[s]!,
        batchBaseOffset: batchAt(reference, position),
      },
      problem: null,
    };
  }
  return { replicas, comparedBytes, identical: true, difference: null, problem: null };
}
