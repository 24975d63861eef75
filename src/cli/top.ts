/**
 * `tributary top`: a live view of a cluster in the terminal, refreshed every second — throughput per topic,
 * consumer groups' lag and its trend, brokers and partitions, and with --metrics-url the brokers' request rates,
 * latencies, bytes, connections and event-loop lag. Everything but the metrics comes over the Kafka protocol
 * (top-view.ts), so it watches Apache Kafka as well. On a terminal it draws on the alternate screen (cursor home,
 * each line cleared to its end, the rest of the screen cleared: one write per frame, no flicker, no scrolling);
 * when stdout is not a terminal, or with --once, it prints plain frames one after the other.
 */
import type { Command } from 'commander';
import { action, addClientFlags, UsageError, type ClientFlags } from './common.js';
import { collectList, intOption, withAdmin } from './topics-common.js';
import { renderFrame, TopSampler, type TopView } from './top-view.js';

export interface TopFlags extends ClientFlags {
  intervalMs: number;
  iterations?: number;
  once?: boolean;
  metricsUrl: string[];
  limit?: number;
  includeInternal?: boolean;
}

/** Where frames go: process.stdout, or any stream with the same few members (tests). */
export interface TopOutput {
  write(chunk: string): boolean;
  isTTY?: boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** Keys that quit a live screen: q, Q, Ctrl-C (raw mode turns Ctrl-C into a byte instead of SIGINT). */
export interface TopInput {
  isTTY?: boolean;
  setRawMode?(raw: boolean): unknown;
  on(event: 'data', listener: (data: Buffer) => void): unknown;
  off(event: 'data', listener: (data: Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

const ENTER_ALT_SCREEN = '\x1b[?1049h\x1b[?25l';
const LEAVE_ALT_SCREEN = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_LINE_END = '\x1b[K';
const CLEAR_SCREEN_END = '\x1b[J';

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--metrics-url must be an http(s) URL such as http://127.0.0.1:9404/metrics; got "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`--metrics-url must be http:// or https://; got "${url}"`);
  if (parsed.username || parsed.password) throw new UsageError('--metrics-url must not carry credentials (they would show in the process list)');
  return url;
}

/** Runs the view until --iterations frames, q / Ctrl-C, or SIGTERM. */
export async function top(flags: TopFlags, output: TopOutput = process.stdout, input: TopInput = process.stdin): Promise<void> {
  const metricsUrls = (flags.metricsUrl ?? []).map(checkUrl);
  if (flags.once && flags.iterations !== undefined) throw new UsageError('--once prints one frame: leave out --iterations');
  const live = output.isTTY === true && !flags.once;
  const intervalMs = flags.intervalMs;
  // Quitting wakes whatever the loop waits on: the pause between frames or a sample in flight (which is then
  // abandoned; the Admin closes under it). One pending callback at a time, so a long run holds nothing more.
  let stopped = false;
  let interrupt: (() => void) | undefined;
  const stop = (): void => {
    stopped = true;
    interrupt?.();
  };
  const wait = (ms: number): Promise<void> => new Promise((resolve) => {
    const timer = setTimeout(resolve, Math.max(ms, 0));
    interrupt = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  const onKey = (data: Buffer): void => {
    const key = data.toString('latin1');
    if (key === 'q' || key === 'Q' || key.includes('\x03')) stop();
  };
  let lastView: TopView | undefined;
  const draw = (view: TopView): void => {
    if (live) {
      const width = output.columns ?? 80;
      const height = output.rows ?? 24;
      const lines = renderFrame(view, { width, height, limit: flags.limit, source: flags.bootstrapServer, footer: 'q or Ctrl-C to quit' });
      // One write: home, each line cleared to its end, then the rest of the screen cleared.
      output.write(HOME + lines.map((l) => (l.length < width ? l + CLEAR_LINE_END : l)).join('\r\n') + CLEAR_SCREEN_END);
    } else {
      output.write(renderFrame(view, { limit: flags.limit, source: flags.bootstrapServer }).join('\n') + '\n\n');
    }
  };
  const onResize = (): void => {
    if (lastView) draw(lastView);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const rawKeys = live && input.isTTY === true && typeof input.setRawMode === 'function';
  if (live) {
    output.write(ENTER_ALT_SCREEN);
    output.on?.('resize', onResize);
    if (rawKeys) {
      input.setRawMode!(true);
      input.on('data', onKey);
      input.resume();
    }
  }
  try {
    await withAdmin(flags, async (admin) => {
      const sampler = new TopSampler(admin, { includeInternal: flags.includeInternal, metricsUrls, scrapeTimeoutMs: Math.min(Math.max(intervalMs, 500), 5000) });
      const sample = (): Promise<TopView | undefined> => new Promise((resolve, reject) => {
        if (stopped) return resolve(undefined);
        interrupt = () => resolve(undefined);
        sampler.sample().then(resolve, reject);
      });
      if (flags.once) {
        // Rates need two samples: the frame shows the interval between them.
        await sample();
        await wait(intervalMs);
        const view = stopped ? undefined : await sample();
        if (view) draw(view);
        return;
      }
      let failedLast = false;
      for (let frame = 0; !stopped && (flags.iterations === undefined || frame < flags.iterations); frame++) {
        const started = Date.now();
        let view: TopView | undefined;
        try {
          view = await sample();
          failedLast = false;
        } catch (err) {
          // A live view outlives a broker restart: the last figures stay up with the error above them.
          view = sampler.failed(err);
          failedLast = true;
        }
        if (!view) break;
        lastView = view;
        draw(view);
        if (flags.iterations !== undefined && frame + 1 >= flags.iterations) break;
        await wait(started + intervalMs - Date.now());
      }
      if (failedLast) process.exitCode = 1;
    });
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    if (live) {
      output.off?.('resize', onResize);
      if (rawKeys) {
        input.off('data', onKey);
        input.setRawMode!(false);
        input.pause();
      }
      output.write(LEAVE_ALT_SCREEN);
    }
  }
}

export function registerTop(program: Command): void {
  const cmd = program
    .command('top')
    .description('A live view of the cluster: messages/s per topic, consumer lag and its trend, brokers, partitions; request rates and latencies with --metrics-url')
    .option('--interval-ms <ms>', 'time between frames', intOption('--interval-ms', 100), 1000)
    .option('--iterations <n>', 'stop after this many frames (for scripts and tests)', intOption('--iterations', 1))
    .option('--once', 'print one frame (two samples --interval-ms apart, for the rates) and exit, without clearing the screen')
    .option('--metrics-url <url>', 'a broker\'s Prometheus endpoint, e.g. http://127.0.0.1:9404/metrics (repeatable: one per broker)', collectList, [])
    .option('--limit <n>', 'at most this many rows per table (default: what fits the terminal; all when stdout is not a terminal)', intOption('--limit', 1))
    .option('--include-internal', 'also show internal topics (__consumer_offsets, __transaction_state, …)');
  addClientFlags(cmd)
    .addHelpText('after', `
Topics are sorted by messages/s (the growth of their partitions' end offsets, from ListOffsets); a group's LAG is
the sum over its committed partitions of log-end offset minus committed offset, LAG-TREND its change per second
over the last 10 frames (positive: falling behind). Brokers, under-replicated (ISR smaller than the replicas) and
offline partitions (no live leader) come from Metadata. With --metrics-url (the broker's \`--metrics-port\`
endpoint, or a JMX exporter's with the same names), also requests/s, errors/s, p50/p99 latency per API from the
kafka_network_requestmetrics_totaltimems histogram between two scrapes, bytes in/out per second, connections,
event-loop lag and fsync p99. On a terminal the view redraws in place (q or Ctrl-C quits); piped, each frame is
printed as plain lines followed by a blank line.

Examples:
  $ tributary top
  $ tributary top -b broker1:9092 --metrics-url http://broker1:9404/metrics
  $ tributary top --once --limit 10
  $ tributary top --iterations 5 --interval-ms 2000 > top.log
  $ tributary top -b broker1:9093 --command-config client.properties`)
    .action(action((flags: TopFlags) => top(flags)));
}
