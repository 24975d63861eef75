/**
 * Large buffers kept for reuse. The producer's batch buffers (as the Java producer's BufferPool: a batch's
 * buffer comes back once the broker has acknowledged the batch, so its request bytes are surely written) and
 * the broker's fetch read buffers (back once the response that carried them is written to the socket).
 *
 * Why it matters: glibc serves each allocation of 128 KiB or more (a sendBatch() batch grows towards
 * maxRequestSize, about 1 MiB) with a fresh mmap — its dynamic threshold never rises past a size it has
 * just freed — so every new 1 MiB buffer takes 256 page faults when first written. On the
 * benchmark machine that was 2–4 ms per MiB, against 25–45 µs for the same copy into a buffer in use
 * (node: 500 x 1 MiB of 64 KiB copies, fresh vs reused buffer).
 *
 * Sizes are powers of two from MIN_POOLED_BYTES; `room` bounds what is kept (the producer keeps free
 * buffers + buffered records within bufferMemory, as Java's pool does; the broker a fixed amount).
 */
export const MIN_POOLED_BYTES = 16 * 1024;

/** The size class of a request for `n` bytes: the power of two at or above it (n >= MIN_POOLED_BYTES). */
function classOf(n: number): number {
  return 2 ** Math.ceil(Math.log2(n));
}

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  /** Bytes held in free buffers. */
  pooledBytes = 0;

  /** @param room how many more bytes the pool may hold now */
  constructor(private readonly room: () => number) {}

  /** A buffer of at least `min` bytes, contents undefined: a pooled one when its class has one. */
  acquire(min: number): Buffer {
    if (min < MIN_POOLED_BYTES) return Buffer.allocUnsafe(min);
    const size = classOf(min);
    const buf = this.free.get(size)?.pop();
    if (buf !== undefined) {
      this.pooledBytes -= size;
      return buf;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Takes a buffer back (its owner must not touch it again), unless it is not one of the pool's sizes or there is no room. */
  release(buf: Buffer): void {
    const size = buf.length;
    if (size < MIN_POOLED_BYTES || size !== classOf(size) || buf.byteOffset !== 0 || buf.buffer.byteLength !== size || size > this.room()) return;
    let list = this.free.get(size);
    if (list === undefined) this.free.set(size, (list = []));
    list.push(buf);
    this.pooledBytes += size;
  }

  clear(): void {
    this.free.clear();
    this.pooledBytes = 0;
  }
}
