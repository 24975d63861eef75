/** A progress line on a terminal, for long work (CLI produce, connect sources). */

export interface Progress {
  /** Adds to the count done (and bytes, for the rate). */
  tick(count?: number, bytes?: number): void;
  /** Prints the final line. */
  done(): void;
}

/**
 * A progress line on stderr, redrawn at most 10 times a second: a bar when the total is known, and
 * always the count and rate. Silent when stderr is not a terminal unless `force`.
 */
export function progress(label: string, total: number | undefined, options: { force?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = options.stream ?? process.stderr;
  const enabled = options.force === true || stream.isTTY === true;
  const started = Date.now();
  let count = 0;
  let bytes = 0;
  let lastDraw = 0;
  const line = (): string => {
    const secs = Math.max((Date.now() - started) / 1000, 0.001);
    const rate = `${Math.round(count / secs).toLocaleString('en-US')} msg/s, ${(bytes / secs / 1048576).toFixed(2)} MiB/s`;
    if (total === undefined || total <= 0) return `${label} ${count.toLocaleString('en-US')} (${rate})`;
    const frac = Math.min(count / total, 1);
    const width = 30;
    const filled = Math.round(frac * width);
    return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${count.toLocaleString('en-US')}/${total.toLocaleString('en-US')} (${rate})`;
  };
  return {
    tick(n = 1, b = 0) {
      count += n;
      bytes += b;
      if (!enabled) return;
      const now = Date.now();
      if (now - lastDraw < 100) return;
      lastDraw = now;
      stream.write(`\r${line()}`);
    },
    done() {
      if (enabled) stream.write(`\r${line()}\n`);
    },
  };
}
