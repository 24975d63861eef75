// Window specifications (tumbling/hopping time windows, sliding windows, session windows, join windows) and the
// Windowed<K> key a windowed aggregation emits. Times are epoch milliseconds, as record timestamps.
import { type Serde, SerializationError } from './serdes.js';

/** A time interval. Time windows are [start, end); session and sliding windows include their end. */
export class Window {
  constructor(readonly start: number, readonly end: number) {}

  toString(): string {
    return `[${this.start},${this.end}]`;
  }
}

/** A key in a window: what windowed aggregations emit. */
export class Windowed<K> {
  constructor(readonly key: K, readonly window: Window) {}

  toString(): string {
    return `[${String(this.key)}@${this.window.start}/${this.window.end}]`;
  }
}

function checkMs(what: string, ms: number): number {
  if (!Number.isInteger(ms) || ms < 0) throw new RangeError(`${what} must be a whole number of milliseconds >= 0, got ${ms}`);
  return ms;
}

/** The grace period Kafka Streams 2.x applied when none was given: 24 hours. */
export const DEPRECATED_DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000;

/** Fixed-size windows: tumbling (advance = size) or hopping (advance < size), aligned to the epoch. */
export class TimeWindows {
  private constructor(readonly sizeMs: number, readonly advanceMs: number, readonly graceMs: number) {}

  static ofSizeWithNoGrace(sizeMs: number): TimeWindows {
    return TimeWindows.ofSizeAndGrace(sizeMs, 0);
  }

  static ofSizeAndGrace(sizeMs: number, graceMs: number): TimeWindows {
    if (checkMs('window size', sizeMs) === 0) throw new RangeError('window size must be > 0');
    return new TimeWindows(sizeMs, sizeMs, checkMs('grace', graceMs));
  }

  /** A hopping window: a new window starts every advanceMs (0 < advanceMs <= size). */
  advanceBy(advanceMs: number): TimeWindows {
    if (checkMs('advance', advanceMs) === 0 || advanceMs > this.sizeMs) {
      throw new RangeError(`advance must be > 0 and <= the window size ${this.sizeMs}, got ${advanceMs}`);
    }
    return new TimeWindows(this.sizeMs, advanceMs, this.graceMs);
  }

  /** The windows a timestamp falls in, earliest start first. */
  windowsFor(timestamp: number): Window[] {
    const out: Window[] = [];
    for (let start = Math.floor(timestamp / this.advanceMs) * this.advanceMs; start >= 0 && start + this.sizeMs > timestamp; start -= this.advanceMs) {
      out.push(new Window(start, start + this.sizeMs));
    }
    out.reverse();
    return out;
  }

  /** How long the store keeps a window: its size plus the grace period. */
  retentionMs(): number {
    return this.sizeMs + this.graceMs;
  }
}

/** Windows of a fixed time difference that slide with the records: [t - timeDifference, t], both ends included. */
export class SlidingWindows {
  private constructor(readonly timeDifferenceMs: number, readonly graceMs: number) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): SlidingWindows {
    return SlidingWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): SlidingWindows {
    if (checkMs('time difference', timeDifferenceMs) === 0) throw new RangeError('time difference must be > 0');
    return new SlidingWindows(timeDifferenceMs, checkMs('grace', graceMs));
  }
}

/** Sessions: a key's records closer than the inactivity gap belong to one session; both ends included. */
export class SessionWindows {
  private constructor(readonly inactivityGapMs: number, readonly graceMs: number) {}

  static ofInactivityGapWithNoGrace(gapMs: number): SessionWindows {
    return SessionWindows.ofInactivityGapAndGrace(gapMs, 0);
  }

  static ofInactivityGapAndGrace(gapMs: number, graceMs: number): SessionWindows {
    if (checkMs('inactivity gap', gapMs) === 0) throw new RangeError('inactivity gap must be > 0');
    return new SessionWindows(gapMs, checkMs('grace', graceMs));
  }
}

/**
 * The window of a stream-stream join: a left record at t joins right records timestamped in
 * [t - before, t + after] (so a right record at t joins left records in [t - after, t + before]).
 */
export class JoinWindows {
  private constructor(readonly beforeMs: number, readonly afterMs: number, readonly graceMs: number) {}

  static ofTimeDifferenceWithNoGrace(timeDifferenceMs: number): JoinWindows {
    return JoinWindows.ofTimeDifferenceAndGrace(timeDifferenceMs, 0);
  }

  static ofTimeDifferenceAndGrace(timeDifferenceMs: number, graceMs: number): JoinWindows {
    checkMs('time difference', timeDifferenceMs);
    return new JoinWindows(timeDifferenceMs, timeDifferenceMs, checkMs('grace', graceMs));
  }

  /** How far before a left record a right record may be (this.after stays). */
  before(ms: number): JoinWindows {
    return new JoinWindows(checkMs('before', ms), this.afterMs, this.graceMs);
  }

  /** How far after a left record a right record may be (this.before stays). */
  after(ms: number): JoinWindows {
    return new JoinWindows(this.beforeMs, checkMs('after', ms), this.graceMs);
  }

  /** How long each side's store keeps a record. */
  retentionMs(): number {
    return this.beforeMs + this.afterMs + this.graceMs;
  }
}

/** How much a suppression buffer may hold. */
export class BufferConfig {
  private constructor(readonly maxRecords: number, readonly whenFull: 'emit-early' | 'shut-down') {}

  static unbounded(): BufferConfig {
    return new BufferConfig(Infinity, 'shut-down');
  }

  static maxRecords(n: number): BufferConfig {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`maxRecords must be >= 1, got ${n}`);
    return new BufferConfig(n, 'shut-down');
  }

  /** When full, emit the oldest buffered record early instead of failing. */
  emitEarlyWhenFull(): BufferConfig {
    return new BufferConfig(this.maxRecords, 'emit-early');
  }

  /** When full, fail the task (untilWindowCloses must not emit early: its results would not be final). */
  shutDownWhenFull(): BufferConfig {
    return new BufferConfig(this.maxRecords, 'shut-down');
  }
}

/** How KTable.suppress holds updates back. */
export class Suppressed {
  private constructor(
    readonly kind: 'until-window-closes' | 'until-time-limit',
    readonly timeLimitMs: number,
    readonly bufferConfig: BufferConfig,
    readonly name: string | undefined,
  ) {}

  /** Emit only the final result of each window, when stream time passes its end plus grace. */
  static untilWindowCloses(bufferConfig: BufferConfig): Suppressed {
    if (bufferConfig.whenFull === 'emit-early') throw new RangeError('untilWindowCloses needs a buffer that shuts down when full (final results only)');
    return new Suppressed('until-window-closes', 0, bufferConfig, undefined);
  }

  /** Emit the latest value of a key once timeLimitMs of stream time has passed since its first buffered update. */
  static untilTimeLimit(timeLimitMs: number, bufferConfig: BufferConfig): Suppressed {
    return new Suppressed('until-time-limit', checkMs('time limit', timeLimitMs), bufferConfig, undefined);
  }

  withName(name: string): Suppressed {
    return new Suppressed(this.kind, this.timeLimitMs, this.bufferConfig, name);
  }
}

/** Serdes for Windowed<K> keys: the inner key's bytes, then the window start (time windows) or end and start (sessions), 8 bytes each. */
export const WindowedSerdes = {
  timeWindowedSerdeFrom<K>(inner: Serde<K>, windowSizeMs: number): Serde<Windowed<K>> {
    return {
      serialize(topic, w) {
        if (w === null || w === undefined) return null;
        const k = inner.serialize(topic, w.key) ?? Buffer.alloc(0);
        const b = Buffer.allocUnsafe(k.length + 8);
        k.copy(b);
        b.writeBigInt64BE(BigInt(w.window.start), k.length);
        return b;
      },
      deserialize(topic, data) {
        if (data === null || data === undefined) return null;
        if (data.length < 8) throw new SerializationError(`a time-windowed key is at least 8 bytes, got ${data.length}`);
        const start = Number(data.readBigInt64BE(data.length - 8));
        return new Windowed(inner.deserialize(topic, data.subarray(0, data.length - 8)) as K, new Window(start, start + windowSizeMs));
      },
    };
  },
  sessionWindowedSerdeFrom<K>(inner: Serde<K>): Serde<Windowed<K>> {
    return {
      serialize(topic, w) {
        if (w === null || w === undefined) return null;
        const k = inner.serialize(topic, w.key) ?? Buffer.alloc(0);
        const b = Buffer.allocUnsafe(k.length + 16);
        k.copy(b);
        b.writeBigInt64BE(BigInt(w.window.end), k.length);
        b.writeBigInt64BE(BigInt(w.window.start), k.length + 8);
        return b;
      },
      deserialize(topic, data) {
        if (data === null || data === undefined) return null;
        if (data.length < 16) throw new SerializationError(`a session-windowed key is at least 16 bytes, got ${data.length}`);
        const end = Number(data.readBigInt64BE(data.length - 16));
        const start = Number(data.readBigInt64BE(data.length - 8));
        return new Windowed(inner.deserialize(topic, data.subarray(0, data.length - 16)) as K, new Window(start, end));
      },
    };
  },
};
