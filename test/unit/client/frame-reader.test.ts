import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo } from 'node:net';
import { FrameReader } from '../../../src/client/frame-reader.js';

function framed(...bodies: Buffer[]): Buffer {
  return Buffer.concat(bodies.flatMap((b) => {
    const size = Buffer.alloc(4);
    size.writeInt32BE(b.length);
    return [size, b];
  }));
}

function body(size: number, seed: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function collect(max = 1 << 30): { reader: FrameReader; frames: Buffer[]; bad: number[] } {
  const reader = new FrameReader(max);
  const frames: Buffer[] = [];
  const bad: number[] = [];
  reader.onFrame = (f) => {
    frames.push(f);
    return true;
  };
  reader.onBadSize = (s) => bad.push(s);
  return { reader, frames, bad };
}

test('push: frames split at every byte position come out whole and in order', () => {
  const bodies = [body(4, 1), body(5, 2), body(70_000, 3), body(9, 4)];
  const stream = framed(...bodies);
  for (const cut of [1, 2, 3, 4, 5, 7, 8, 13, 4096, 65_536, 70_003, stream.length]) {
    const { reader, frames } = collect();
    for (let pos = 0; pos < stream.length; pos += cut) reader.push(stream.subarray(pos, Math.min(stream.length, pos + cut)));
    assert.deepEqual(frames, bodies, `cut ${cut}`);
  }
});

test('push: a frame is a copy, so the caller may reuse its chunk', () => {
  const { reader, frames } = collect();
  const chunk = framed(body(6, 9));
  reader.push(chunk);
  chunk.fill(0);
  assert.deepEqual(frames, [body(6, 9)]);
});

test('onread: a large frame is read straight into its own buffer, small ones through the reused buffer', () => {
  const bodies = [body(10, 1), body(3_000_000, 2), body(20, 3), body(200_000, 4)];
  const stream = framed(...bodies);
  const { reader, frames } = collect();
  // What net.Socket does with onread: read into buffer(), then callback(n, thatBuffer), then buffer() again.
  let pos = 0;
  let directBytes = 0;
  let buf = reader.onread.buffer();
  const scratch = buf;
  while (pos < stream.length) {
    const n = Math.min(buf.length, stream.length - pos, 50_000);
    Buffer.from(buf.buffer, buf.byteOffset, buf.length).set(stream.subarray(pos, pos + n));
    pos += n;
    if (buf !== scratch) directBytes += n;
    reader.onread.callback(n, buf);
    buf = reader.onread.buffer();
  }
  assert.deepEqual(frames, bodies);
  // All of the two large frames but what arrived with their size prefix, or within the last 16 KiB, was read in place.
  assert.ok(directBytes > 3_000_000, `only ${directBytes} bytes were read in place`);
  // The frame handed over is not the reused buffer.
  assert.notEqual(frames[0].buffer, (scratch as Buffer).buffer);
});

test('a size prefix out of bounds stops the reader', () => {
  const { reader, frames, bad } = collect(100);
  reader.push(framed(body(8, 1)));
  const huge = Buffer.alloc(8);
  huge.writeInt32BE(101);
  reader.push(huge);
  reader.push(framed(body(8, 2)));
  assert.deepEqual(frames, [body(8, 1)]);
  assert.deepEqual(bad, [101]);
  const neg = collect();
  neg.reader.push(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  assert.deepEqual(neg.bad, [-1]);
});

test('onFrame returning false stops delivery', () => {
  const reader = new FrameReader(1 << 20);
  const seen: Buffer[] = [];
  reader.onFrame = (f) => {
    seen.push(f);
    return false;
  };
  reader.push(framed(body(5, 1), body(5, 2)));
  assert.equal(seen.length, 1);
});

test('over a real socket with onread: 20 MiB of mixed frames arrive intact', async () => {
  const bodies = Array.from({ length: 40 }, (_, i) => body(i % 3 === 0 ? 1_000_000 + i : 17 + i, i));
  const stream = framed(...bodies);
  const server = createServer((s) => {
    // Uneven writes, so frames straddle reads.
    let pos = 0;
    const step = (): void => {
      while (pos < stream.length) {
        const n = Math.min(stream.length - pos, 1 + ((pos * 7919) % 300_000));
        const ok = s.write(stream.subarray(pos, pos + n));
        pos += n;
        if (!ok) return void s.once('drain', step);
      }
      s.end();
    };
    step();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const { reader, frames } = collect();
    const sock = connect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, onread: reader.onread });
    await new Promise<void>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('close', () => resolve());
    });
    assert.equal(frames.length, bodies.length);
    for (let i = 0; i < bodies.length; i++) assert.ok(frames[i].equals(bodies[i]), `frame ${i}`);
  } finally {
    server.close();
  }
});
