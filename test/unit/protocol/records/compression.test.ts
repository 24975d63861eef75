import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as zlib from 'node:zlib';
import { compressSync as snappyRaw } from 'snappy';
import { compressFrameSync } from 'lz4-napi';
import zstdBinding from 'zstd-napi/binding.js';
import { compress, decompress, type CompressionType } from '../../../../src/protocol/records/compression.js';
import { RecordError } from '../../../../src/protocol/records/record-error.js';
import { CHUNK, LZ4_LINKED_FRAME } from './kafka-python-fixtures.js';

const CODECS: CompressionType[] = [1, 2, 3, 4];
const MiB = 1024 * 1024;

function assertRecordError(fn: () => unknown, kafkaError: string, code?: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof RecordError, `expected RecordError, got ${String(err)}`);
    assert.equal(err.kafkaError, kafkaError);
    if (code !== undefined) assert.equal(err.code, code);
    return true;
  });
}

function text(size: number): Buffer {
  const out = Buffer.alloc(size);
  for (let i = 0; i < size; i++) out[i] = CHUNK[(i * 7) % CHUNK.length];
  return out;
}

/** zstd frame without a declared content size, as a streaming compressor (e.g. the Java client's) writes. */
function zstdStreamed(data: Buffer): Buffer {
  const cctx = new zstdBinding.CCtx();
  const dst = Buffer.alloc(zstdBinding.compressBound(data.length) + 64);
  const [, a, consumed] = cctx.compressStream2(dst, data, zstdBinding.EndDirective.continue);
  assert.equal(consumed, data.length);
  const [, b] = cctx.compressStream2(dst.subarray(a), Buffer.alloc(0), zstdBinding.EndDirective.end);
  const frame = dst.subarray(0, a + b);
  assert.equal(zstdBinding.getFrameContentSize(frame), null);
  return frame;
}

/** Java-client snappy framing around raw snappy blocks. */
function xerial(...blocks: Buffer[]): Buffer {
  const header = Buffer.from([0x82, 0x53, 0x4e, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]);
  const parts: Buffer[] = [header];
  for (const block of blocks) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(block.length, 0);
    parts.push(len, block);
  }
  return Buffer.concat(parts);
}

describe('compression round trips', () => {
  for (const codec of CODECS) {
    it(`codec ${codec}: compress → decompress gives the input back`, () => {
      for (const data of [Buffer.from('x'), text(100_000), Buffer.alloc(5 * MiB, 0x61)]) {
        const packed = compress(codec, data);
        assert.ok(packed.length < data.length || data.length < 64);
        assert.deepEqual(decompress(codec, packed, data.length), data);
      }
    });
  }

  it('an unbounded cap (Infinity) works for every codec', () => {
    const data = text(10_000);
    for (const codec of CODECS) assert.deepEqual(decompress(codec, compress(codec, data), Infinity), data);
  });

  it('codec 0 is the identity and still honours the cap', () => {
    const data = Buffer.from('plain');
    assert.equal(compress(0, data), data);
    assert.equal(decompress(0, data, 5), data);
    assertRecordError(() => decompress(0, data, 4), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('empty input round trips for every codec', () => {
    for (const codec of CODECS) assert.equal(decompress(codec, compress(codec, Buffer.alloc(0)), 0).length, 0);
  });

  it('unknown codecs are UNSUPPORTED_COMPRESSION_TYPE', () => {
    assertRecordError(() => decompress(5 as CompressionType, Buffer.from('x'), 10), 'UNSUPPORTED_COMPRESSION_TYPE');
    assertRecordError(() => compress(7 as CompressionType, Buffer.from('x')), 'UNSUPPORTED_COMPRESSION_TYPE');
  });

  it('snappy output is a raw block (no framing), as librdkafka writes it', () => {
    const packed = compress(2, text(1000));
    assert.equal(packed[0], 0xe8); // varint 1000 = e8 07
    assert.equal(packed[1], 0x07);
  });

  it('lz4 output is an LZ4 frame with independent blocks (what the Java client requires)', () => {
    const packed = compress(3, text(1000));
    assert.equal(packed.readUInt32LE(0), 0x184d2204);
    assert.equal(packed[4] & 0xc0, 0x40); // version 01
    assert.equal(packed[4] & 0x20, 0x20); // block independence
  });
});

describe('snappy xerial framing', () => {
  it('decodes one block', () => {
    const data = text(3000);
    assert.deepEqual(decompress(2, xerial(snappyRaw(data)), 3000), data);
  });

  it('decodes several blocks in order', () => {
    const a = text(40_000);
    const b = Buffer.from('tail of the stream');
    assert.deepEqual(decompress(2, xerial(snappyRaw(a), snappyRaw(b)), MiB), Buffer.concat([a, b]));
  });

  it('refuses blocks whose declared sizes add up past the cap, before inflating', () => {
    const a = snappyRaw(Buffer.alloc(60_000));
    assertRecordError(() => decompress(2, xerial(a, a), 100_000), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
    assert.equal(decompress(2, xerial(a, a), 120_000).length, 120_000);
  });

  it('torn framing is CORRUPT_MESSAGE', () => {
    const framed = xerial(snappyRaw(text(500)));
    assertRecordError(() => decompress(2, framed.subarray(0, framed.length - 3), MiB), 'CORRUPT_MESSAGE');
    assertRecordError(() => decompress(2, Buffer.concat([framed, Buffer.from([0, 0])]), MiB), 'CORRUPT_MESSAGE');
  });
});

describe('lz4 frames from other encoders', () => {
  it('decodes linked blocks with block and content checksums (python-lz4)', () => {
    const frame = Buffer.from(LZ4_LINKED_FRAME, 'base64');
    assert.equal(frame[4] & 0x20, 0, 'fixture should use linked blocks');
    const out = decompress(3, frame, MiB);
    assert.equal(out.length, 70_000);
    for (let i = 0; i < 70; i++) assert.deepEqual(out.subarray(i * 1000, (i + 1) * 1000), CHUNK);
    assertRecordError(() => decompress(3, frame, 69_999), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('refuses a frame whose declared content size is over the cap without inflating it', () => {
    const plain = compressFrameSync(Buffer.alloc(1000, 1));
    // Rebuild the descriptor with the content-size flag and a declared size of 2^40.
    const withSize = Buffer.concat([plain.subarray(0, 4), Buffer.from([plain[4] | 0x08, plain[5]]), Buffer.alloc(8), plain.subarray(6)]);
    withSize.writeUInt32LE(0x100, 10);
    assertRecordError(() => decompress(3, withSize, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('skips skippable frames and joins concatenated frames', () => {
    const skippable = Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const joined = Buffer.concat([compressFrameSync(Buffer.from('abc')), skippable, compressFrameSync(Buffer.from('def'))]);
    assert.equal(decompress(3, joined, 6).toString(), 'abcdef');
    assertRecordError(() => decompress(3, joined, 5), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });
});

describe('decompression caps (bombs)', () => {
  const bomb = Buffer.alloc(64 * MiB);

  it('gzip: a 64 MiB bomb is refused at a 1 MiB cap', () => {
    const packed = zlib.gzipSync(bomb);
    assert.ok(packed.length < 100_000);
    assertRecordError(() => decompress(1, packed, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('zstd with a declared content size is refused up front', () => {
    const packed = compress(4, bomb);
    assert.equal(zstdBinding.getFrameContentSize(packed), bomb.length);
    assertRecordError(() => decompress(4, packed, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('zstd without a content size is refused while streaming', () => {
    const packed = zstdStreamed(bomb);
    assertRecordError(() => decompress(4, packed, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
    const small = zstdStreamed(text(300_000));
    assert.deepEqual(decompress(4, small, 300_000), text(300_000));
    assertRecordError(() => decompress(4, small, 299_999), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('snappy: the declared length is checked before inflating', () => {
    const packed = snappyRaw(Buffer.alloc(4 * MiB));
    assertRecordError(() => decompress(2, packed, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
    // A lying preamble (claims 4 GiB - 1) is refused the same way, without trying.
    assertRecordError(() => decompress(2, Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), MiB), 'INVALID_RECORD');
  });

  it('lz4 without a content size: stops at the first block past the cap', () => {
    const packed = compressFrameSync(bomb);
    assertRecordError(() => decompress(3, packed, MiB), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
  });

  it('exactly at the cap is accepted for every codec', () => {
    const data = text(200_000);
    for (const codec of CODECS) assert.equal(decompress(codec, compress(codec, data), data.length).length, data.length);
    for (const codec of CODECS) {
      assertRecordError(() => decompress(codec, compress(codec, data), data.length - 1), 'INVALID_RECORD', 'DECOMPRESSED_TOO_LARGE');
    }
  });
});

describe('corrupt compressed data', () => {
  for (const codec of CODECS) {
    it(`codec ${codec}: garbage, truncation and empty input are CORRUPT_MESSAGE`, () => {
      const packed = compress(codec, text(50_000));
      assertRecordError(() => decompress(codec, Buffer.from('definitely not compressed data'), MiB), 'CORRUPT_MESSAGE', 'DECOMPRESS_FAILED');
      assertRecordError(() => decompress(codec, packed.subarray(0, packed.length >> 1), MiB), 'CORRUPT_MESSAGE', 'DECOMPRESS_FAILED');
      assertRecordError(() => decompress(codec, Buffer.alloc(0), MiB), 'CORRUPT_MESSAGE', 'DECOMPRESS_FAILED');
    });
  }
});
