/**
 * Timers for coordinators, keyed so a state machine can replace or cancel them (one heartbeat deadline per
 * member, one join deadline per group). The clock is injected: SystemScheduler uses real time,
 * ManualScheduler lets tests move time forward and fire what is due, without sleeping.
 */
export interface Scheduler {
  now(): number;
  /** Runs fn after delayMs; a timer already under this key is replaced. */
  schedule(key: string, delayMs: number, fn: () => void): void;
  cancel(key: string): void;
  /** Cancels every timer (shutdown). */
  cancelAll(): void;
}

export class SystemScheduler implements Scheduler {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(readonly now: () => number = Date.now) {}

  schedule(key: string, delayMs: number, fn: () => void): void {
    this.cancel(key);
    const t = setTimeout(() => {
      this.timers.delete(key);
      fn();
    }, Math.max(0, delayMs));
    t.unref();
    this.timers.set(key, t);
  }

  cancel(key: string): void {
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t);
      this.timers.delete(key);
    }
  }

  cancelAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/** Test clock: time moves only through advance(), which fires due timers in deadline order. */
export class ManualScheduler implements Scheduler {
  private time: number;
  private seq = 0;
  private readonly timers = new Map<string, { at: number; seq: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.time = start;
  }

  now = (): number => this.time;

  schedule(key: string, delayMs: number, fn: () => void): void {
    this.timers.set(key, { at: this.time + Math.max(0, delayMs), seq: this.seq++, fn });
  }

  cancel(key: string): void {
    this.timers.delete(key);
  }

  cancelAll(): void {
    this.timers.clear();
  }

  has(key: string): boolean {
    return this.timers.has(key);
  }

  /** Moves the clock forward by ms, firing every timer that falls due (including ones scheduled meanwhile). */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [string, { at: number; seq: number; fn: () => void }] | undefined;
      for (const e of this.timers) {
        if (e[1].at <= end && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[1].seq < next[1].seq))) next = e;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = end;
  }
}
