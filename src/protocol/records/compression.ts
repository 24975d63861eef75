/**
 * Compression codecs for record batch payloads (attributes bits 0-2). Synchronous: batches are small and
 * the callers (tools, compaction, down-conversion) are not on the produce hot path.
 *
 * Decompression never produces more than `maxOutputBytes`: a tiny batch must not be able to inflate into
 * gigabytes. Bad data → RecordError CORRUPT_MESSAGE; output over the cap → RecordError INVALID_RECORD.
 */
import { constants as bufferConstants } from 'node:buffer';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import type * as SnappyModule from 'snappy';
import type * as Lz4Module from 'lz4-napi';
import type * as ZstdModule from 'zstd-napi';
import type ZstdBindingModule from 'zstd-napi/binding.js';
import { RecordError } from './record-error.js';

// The native codecs load on first use: a broker whose clients never compress never pays their start-up
// time and memory (about 15 MB of RSS for the three).
const load = createRequire(import.meta.url);
let snappyModule: typeof SnappyModule | undefined;
let lz4Module: typeof Lz4Module | undefined;
let zstdModule: typeof ZstdModule | undefined;
let zstdBindingModule: typeof ZstdBindingModule | undefined;
const snappy = (): typeof SnappyModule => (snappyModule ??= load('snappy') as typeof SnappyModule);
const lz4 = (): typeof Lz4Module => (lz4Module ??= load('lz4-napi') as typeof Lz4Module);
const zstd = (): typeof ZstdModule => (zstdModule ??= load('zstd-napi') as typeof ZstdModule);
const zstdBinding = (): typeof ZstdBindingModule => (zstdBindingModule ??= load('zstd-napi/binding.js') as typeof ZstdBindingModule);

/** 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd. */
export type CompressionType = 0 | 1 | 2 | 3 | 4;

export const COMPRESSION_NONE = 0;
export const COMPRESSION_GZIP = 1;
export const COMPRESSION_SNAPPY = 2;
export const COMPRESSION_LZ4 = 3;
export const COMPRESSION_ZSTD = 4;

const COMPRESSION_NAMES = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const;
export type CompressionName = (typeof COMPRESSION_NAMES)[number];

export function compressionName(type: CompressionType): CompressionName {
  return COMPRESSION_NAMES[type];
}

/** 'producer' and unknown names return undefined; the caller decides what those mean. */
export function compressionTypeFromName(name: string): CompressionType | undefined {
  const i = (COMPRESSION_NAMES as readonly string[]).indexOf(name);
  return i < 0 ? undefined : (i as CompressionType);
}

export function isKnownCompression(codec: number): codec is CompressionType {
  return codec >= 0 && codec <= 4;
}

export function compress(type: CompressionType, data: Buffer): Buffer {
  switch (type) {
    case 0:
      return data;
    case 1:
      return zlib.gzipSync(data);
    case 2:
      // Raw snappy block, as librdkafka writes it; every Kafka client decodes it.
      return snappy().compressSync(data);
    case 3:
      // LZ4 frame with independent blocks (the Java client cannot read linked blocks).
      return lz4().compressFrameSync(data);
    case 4:
      return zstd().compress(data);
    default:
      throw unknownCodec(type);
  }
}

export function decompress(type: CompressionType, data: Buffer, maxOutputBytes: number): Buffer {
  switch (type) {
    case 0:
      if (data.length > maxOutputBytes) throw tooLarge('none', maxOutputBytes);
      return data;
    case 1:
      return gunzip(data, maxOutputBytes);
    case 2:
      return isXerial(data) ? unsnappyXerial(data, maxOutputBytes) : unsnappyRaw(data, maxOutputBytes);
    case 3:
      return unlz4Frames(data, maxOutputBytes);
    case 4:
      return unzstd(data, maxOutputBytes);
    default:
      throw unknownCodec(type);
  }
}

function unknownCodec(type: number): RecordError {
  return new RecordError('UNSUPPORTED_COMPRESSION_TYPE', 'COMPRESSION_UNKNOWN', `unknown compression codec ${type}`);
}

function tooLarge(codec: string, cap: number): RecordError {
  return new RecordError('INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE', `${codec} payload inflates beyond ${cap} bytes`);
}

function corrupt(codec: string, why: string, cause?: unknown): RecordError {
  return new RecordError('CORRUPT_MESSAGE', 'DECOMPRESS_FAILED', `${codec} payload is corrupt: ${why}`, { cause });
}

// ---- gzip ----

function gunzip(data: Buffer, cap: number): Buffer {
  try {
    // maxOutputLength stops inflation as soon as the output would pass the cap.
    const out = zlib.gunzipSync(data, { maxOutputLength: Math.min(Math.max(1, cap), bufferConstants.MAX_LENGTH) });
    if (out.length > cap) throw tooLarge('gzip', cap);
    return out;
  } catch (err) {
    if (err instanceof RecordError) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge('gzip', cap);
    throw corrupt('gzip', (err as Error).message, err);
  }
}

// ---- snappy ----

/** The Java client's framing: 0x82 'SNAPPY' 0x00, int32 version, int32 compatible version, then [int32 len][raw block]… */
const XERIAL_MAGIC = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00]);
const XERIAL_HEADER_SIZE = 16;

function isXerial(data: Buffer): boolean {
  return data.length >= XERIAL_HEADER_SIZE && data.compare(XERIAL_MAGIC, 0, 8, 0, 8) === 0;
}

/** A raw snappy block starts with its uncompressed length as an unsigned varint (at most 32 bits). */
function snappyDeclaredLength(data: Buffer, start: number, end: number): number {
  let result = 0;
  for (let i = 0; i < 5; i++) {
    if (start + i >= end) break;
    const b = data[start + i];
    result += (b & 0x7f) * 2 ** (7 * i);
    if ((b & 0x80) === 0) return result;
  }
  throw corrupt('snappy', 'bad length preamble');
}

function unsnappyBlock(block: Buffer): Buffer {
  try {
    return snappy().uncompressSync(block, { asBuffer: true }) as Buffer;
  } catch (err) {
    throw corrupt('snappy', (err as Error).message, err);
  }
}

function unsnappyRaw(data: Buffer, cap: number): Buffer {
  if (snappyDeclaredLength(data, 0, data.length) > cap) throw tooLarge('snappy', cap);
  return unsnappyBlock(data);
}

function unsnappyXerial(data: Buffer, cap: number): Buffer {
  // First pass: frame the blocks and sum their declared sizes, so nothing inflates past the cap.
  const blocks: Buffer[] = [];
  let total = 0;
  let pos = XERIAL_HEADER_SIZE;
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt('snappy', 'torn xerial block length');
    const len = data.readInt32BE(pos);
    pos += 4;
    if (len < 0 || len > data.length - pos) throw corrupt('snappy', 'xerial block overruns the payload');
    total += snappyDeclaredLength(data, pos, pos + len);
    if (total > cap) throw tooLarge('snappy', cap);
    blocks.push(data.subarray(pos, pos + len));
    pos += len;
  }
  if (blocks.length === 1) return unsnappyBlock(blocks[0]);
  return Buffer.concat(blocks.map(unsnappyBlock), total);
}

// ---- lz4 (frame format) ----
// lz4-napi's frame decoder has no output cap, so the frame is walked here and each block is inflated with
// the size-prepended block decoder, whose prepended size acts as a hard output limit.

const LZ4_MAGIC = 0x184d2204;
const LZ4_SKIPPABLE_MASK = 0xfffffff0;
const LZ4_SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
const LZ4_WINDOW = 64 * 1024;

function unlz4Frames(data: Buffer, cap: number): Buffer {
  const out: Buffer[] = [];
  let total = 0;
  let pos = 0;
  if (data.length === 0) throw corrupt('lz4', 'empty payload');
  while (pos < data.length) {
    if (data.length - pos < 8) throw corrupt('lz4', 'torn frame header');
    const magic = data.readUInt32LE(pos);
    if ((magic & LZ4_SKIPPABLE_MASK) >>> 0 === LZ4_SKIPPABLE_MAGIC) {
      const skip = data.readUInt32LE(pos + 4);
      if (skip > data.length - pos - 8) throw corrupt('lz4', 'torn skippable frame');
      pos += 8 + skip;
      continue;
    }
    if (magic !== LZ4_MAGIC) throw corrupt('lz4', 'bad frame magic');
    total = unlz4Frame(data, pos + 4, cap, out, total);
    pos = lz4FrameEnd;
  }
  return out.length === 1 ? out[0] : Buffer.concat(out, total);
}

/** Where the frame parsed by the last unlz4Frame call ended (avoids a result object per frame). */
let lz4FrameEnd = 0;

function unlz4Frame(data: Buffer, pos: number, cap: number, out: Buffer[], total: number): number {
  const flg = data[pos];
  const bd = data[pos + 1];
  if (flg >> 6 !== 1 || (flg & 0x02) !== 0 || (bd & 0x8f) !== 0) throw corrupt('lz4', 'bad frame descriptor');
  const independent = (flg & 0x20) !== 0;
  const blockChecksum = (flg & 0x10) !== 0;
  const hasContentSize = (flg & 0x08) !== 0;
  const contentChecksum = (flg & 0x04) !== 0;
  const hasDictId = (flg & 0x01) !== 0;
  const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 0x07];
  if (blockMax === 0) throw corrupt('lz4', 'bad block max size');
  pos += 2;
  if (hasContentSize) {
    if (data.length - pos < 8) throw corrupt('lz4', 'torn frame header');
    const declared = data.readUInt32LE(pos) + data.readUInt32LE(pos + 4) * 4294967296;
    if (total + declared > cap) throw tooLarge('lz4', cap);
    pos += 8;
  }
  if (hasDictId) throw corrupt('lz4', 'dictionaries are not supported');
  pos += 1; // header checksum; the batch CRC already vouches for these bytes
  const frameStart = out.length;
  for (;;) {
    if (data.length - pos < 4) throw corrupt('lz4', 'torn block header');
    const word = data.readUInt32LE(pos);
    pos += 4;
    if (word === 0) break;
    const stored = (word & 0x80000000) !== 0;
    const size = word & 0x7fffffff;
    if (size > blockMax || size > data.length - pos) throw corrupt('lz4', 'block overruns the frame');
    const block = data.subarray(pos, pos + size);
    pos += size + (blockChecksum ? 4 : 0);
    let decoded: Buffer;
    if (stored) {
      if (total + size > cap) throw tooLarge('lz4', cap);
      decoded = block;
    } else {
      const limit = Math.min(blockMax, cap - total);
      const dict = independent ? undefined : lz4Window(out, frameStart);
      const got = lz4Block(block, limit, dict);
      if (got === undefined) {
        // Over the cap, or bad data? Only a retry at the format's own limit can tell them apart.
        if (limit < blockMax && lz4Block(block, blockMax, dict) !== undefined) throw tooLarge('lz4', cap);
        throw corrupt('lz4', 'bad block');
      }
      decoded = got;
    }
    out.push(decoded);
    total += decoded.length;
  }
  if (contentChecksum) pos += 4;
  if (pos > data.length) throw corrupt('lz4', 'torn content checksum');
  lz4FrameEnd = pos;
  return total;
}

/** Decodes one block into at most `limit` bytes; undefined when the data is bad or needs more room. */
function lz4Block(block: Buffer, limit: number, dict: Buffer | undefined): Buffer | undefined {
  const input = Buffer.allocUnsafe(4 + block.length);
  input.writeUInt32LE(limit, 0);
  block.copy(input, 4);
  try {
    return dict === undefined ? lz4().uncompressSync(input) : lz4().uncompressSync(input, dict);
  } catch {
    return undefined;
  }
}

/** The last 64 KiB decoded in this frame: the window a linked block may refer back into. */
function lz4Window(out: Buffer[], frameStart: number): Buffer | undefined {
  const parts: Buffer[] = [];
  let have = 0;
  for (let i = out.length - 1; i >= frameStart && have < LZ4_WINDOW; i--) {
    parts.unshift(out[i]);
    have += out[i].length;
  }
  if (have === 0) return undefined;
  const window = parts.length === 1 ? parts[0] : Buffer.concat(parts, have);
  return have > LZ4_WINDOW ? window.subarray(have - LZ4_WINDOW) : window;
}

// ---- zstd ----

const ZSTD_CHUNK = 128 * 1024;

function unzstd(data: Buffer, cap: number): Buffer {
  let hint = ZSTD_CHUNK;
  try {
    const declared = zstdBinding().getFrameContentSize(data);
    if (declared !== null) {
      if (declared > cap) throw tooLarge('zstd', cap);
      hint = declared + 1; // +1 so a single call both fills and proves the end
    }
  } catch (err) {
    if (err instanceof RecordError) throw err;
    throw corrupt('zstd', (err as Error).message, err);
  }
  const dctx = new (zstdBinding().DCtx)();
  const chunks: Buffer[] = [];
  let total = 0;
  let input = data;
  let remaining = 1; // zstd's "bytes still expected" hint; 0 once a frame is complete
  try {
    for (;;) {
      const room = Math.min(hint, cap + 1 - total);
      const chunk = Buffer.allocUnsafe(room);
      const [ret, produced, consumed] = dctx.decompressStream(chunk, input);
      remaining = ret;
      input = input.subarray(consumed);
      if (produced > 0) chunks.push(chunk.subarray(0, produced));
      total += produced;
      if (total > cap) throw tooLarge('zstd', cap);
      if (input.length === 0 && produced < room) break;
      if (produced === 0 && consumed === 0) break;
      hint = ZSTD_CHUNK;
    }
  } catch (err) {
    if (err instanceof RecordError) throw err;
    throw corrupt('zstd', (err as Error).message, err);
  }
  if (remaining !== 0 || input.length !== 0) throw corrupt('zstd', 'truncated frame');
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
}
