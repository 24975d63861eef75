/**
 * Splits a broker connection's bytes into response frames (int32 size, then that many bytes).
 *
 * Over plain TCP it is the socket's `onread` (net.connect): the kernel copies into buffers this reader
 * hands out, so a large response (a Fetch of a few MiB) is read straight into one buffer of its exact
 * size — no 64 KiB chunk per read for Node to allocate, and no Buffer.concat of the chunks afterwards
 * (that copy was 10 % of a 1 KiB-record consumer's CPU, plus the garbage collections the chunks caused).
 * Small frames are copied out of one reused read buffer into a buffer of their own: a frame is handed
 * over for good (decoded records are views into it), so the read buffer itself never is. Over TLS the
 * socket's 'data' chunks go through the same state machine (push).
 */

/** The reused read buffer (one per connection). */
const SCRATCH_BYTES = 64 * 1024;
/** A frame with at least this much still to come is read into directly (below it, one read into the scratch buffer serves several frames). */
const DIRECT_MIN_BYTES = 16 * 1024;

export class FrameReader {
  /** Receives each complete frame (without its size prefix); returns false to stop reading (connection failed). */
  onFrame: (frame: Buffer) => boolean = () => true;
  /** A size prefix out of bounds: the stream cannot be resynchronised. */
  onBadSize: (size: number) => void = () => {};

  private readonly scratch = Buffer.allocUnsafeSlow(SCRATCH_BYTES);
  private readonly head = Buffer.alloc(4);
  private headFilled = 0;
  /** The frame being filled, and how much of it is. */
  private frame: Buffer | null = null;
  private filled = 0;
  /** The buffer the socket reads into next, when it is part of `frame`. */
  private direct: Uint8Array | null = null;
  private stopped = false;

  /** For net.connect({ onread }): the socket reads into the buffer `buffer()` returns, then calls `callback`. */
  readonly onread = {
    buffer: (): Uint8Array => this.nextBuffer(),
    callback: (n: number, buf: Uint8Array): boolean => {
      if (buf === this.direct) {
        this.direct = null;
        this.filled += n;
        if (this.filled === this.frame!.length) this.complete();
      } else {
        this.push(buf as Buffer, n);
      }
      return true;
    },
  };

  constructor(private readonly maxFrameBytes: number) {}

  /** Takes the first `n` bytes of `chunk` (copied: the caller may reuse it). */
  push(chunk: Buffer, n = chunk.length): void {
    let pos = 0;
    while (pos < n && !this.stopped) {
      const frame = this.frame;
      if (frame !== null) {
        const take = Math.min(n - pos, frame.length - this.filled);
        chunk.copy(frame, this.filled, pos, pos + take);
        this.filled += take;
        pos += take;
        if (this.filled === frame.length) this.complete();
        continue;
      }
      if (this.headFilled === 0 && n - pos >= 4) {
        this.start(chunk.readInt32BE(pos));
        pos += 4;
        continue;
      }
      this.head[this.headFilled++] = chunk[pos++];
      if (this.headFilled === 4) {
        this.headFilled = 0;
        this.start(this.head.readInt32BE(0));
      }
    }
  }

  /** Stops delivering frames (the connection is closing). */
  stop(): void {
    this.stopped = true;
    this.frame = null;
    this.direct = null;
  }

  private start(size: number): void {
    if (size < 4 || size > this.maxFrameBytes) {
      this.stop();
      this.onBadSize(size);
      return;
    }
    // Uninitialised: every byte is written before the frame is handed over.
    this.frame = Buffer.allocUnsafe(size);
    this.filled = 0;
  }

  private complete(): void {
    const frame = this.frame!;
    this.frame = null;
    if (!this.onFrame(frame)) this.stop();
  }

  private nextBuffer(): Uint8Array {
    const frame = this.frame;
    if (frame !== null && !this.stopped && frame.length - this.filled >= DIRECT_MIN_BYTES) {
      this.direct = frame.subarray(this.filled);
      return this.direct;
    }
    this.direct = null;
    return this.scratch;
  }
}
