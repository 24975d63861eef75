/** Wake-ups: poll() waits on one until data arrives; the heartbeat loops sleep on one until it is time or they are told to act now. */
export class Signal {
  private waiters: Array<() => void> = [];

  /** Resolves on the next notify() or after ms (never on its own when ms is Infinity). */
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const done = (): void => {
        if (timer) clearTimeout(timer);
        timer = null;
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve();
      };
      if (Number.isFinite(ms)) timer = setTimeout(done, Math.max(0, ms));
      this.waiters.push(done);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
