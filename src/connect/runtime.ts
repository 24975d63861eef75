/**
 * Runs every pipeline of a config in one process: source pipelines with the source runtime, sink pipelines
 * with the sink runtime. A signal stops them all cleanly (sources stop, producers flush, sinks commit). When one
 * pipeline fails the others are stopped and the error (naming the pipeline) is thrown.
 */
import type { ClientOptions } from '../client/cluster.js';
import { runSourcePipeline, PipelineError, type SourceRunResult } from './source-runtime.js';
import type { SinkProgress, SinkRunOptions, SinkRunResult } from './sink-runtime.js';
import type { ConnectConfig, PipelineConfig } from './types.js';

export interface RuntimeOptions {
  signal: AbortSignal;
  /** Sinks stop once caught up (lag 0 for 2 s) instead of running until the signal. */
  once?: boolean;
  /** Progress and summaries; default stderr. */
  stream?: NodeJS.WriteStream;
  onSinkProgress?: (s: SinkProgress) => void;
  /** File sources forget their stored offsets first and produce every file from its beginning. */
  resetSourceOffsets?: boolean;
  /** Consumer settings for the sinks (session timeout, heartbeat, …). */
  consumer?: SinkRunOptions['consumer'];
}

export interface PipelineResult {
  pipeline: string;
  source?: SourceRunResult;
  sink?: SinkRunResult;
}

/** Whether `tributary connect` keeps running until stopped: a sink (without --once), or a directory/http/CDC source. */
export function runsUntilStopped(config: ConnectConfig, once: boolean): boolean {
  const endless = ['directory', 'http', 'mysql', 'postgres'];
  return config.pipelines.some((p) => (p.sink !== undefined && !once) || (p.source !== undefined && endless.includes(p.source.type)));
}

async function runSink(p: PipelineConfig, client: ClientOptions, signal: AbortSignal, opts: RuntimeOptions): Promise<SinkRunResult> {
  // Loaded only when a sink runs, so source-only processes never load database drivers.
  const { runSinkPipeline } = await import('./sink-runtime.js');
  return runSinkPipeline(p, client, { signal, once: opts.once === true, onProgress: opts.onSinkProgress, stream: opts.stream, consumer: opts.consumer });
}

export async function runPipelines(config: ConnectConfig, client: ClientOptions, opts: RuntimeOptions): Promise<PipelineResult[]> {
  // One controller for all: the caller's signal, or the first failure, stops every pipeline.
  const all = new AbortController();
  const onAbort = (): void => all.abort();
  if (opts.signal.aborted) all.abort();
  opts.signal.addEventListener('abort', onAbort, { once: true });
  let firstError: Error | null = null;
  const fail = (p: PipelineConfig, err: unknown): never => {
    const named = err instanceof Error && err.message.startsWith(`pipeline "${p.name}"`);
    const e = named ? (err as Error) : new PipelineError(p.name, err instanceof Error ? err.message : String(err), { cause: err });
    firstError ??= e;
    all.abort();
    throw e;
  };
  try {
    const runs = config.pipelines.map(async (p): Promise<PipelineResult> => {
      const result: PipelineResult = { pipeline: p.name };
      const parts: Array<Promise<void>> = [];
      if (p.source !== undefined) {
        parts.push(
          runSourcePipeline(p, client, { signal: all.signal, stream: opts.stream, resetOffsets: opts.resetSourceOffsets }).then(
            (r) => void (result.source = r),
            (err: unknown) => fail(p, err),
          ),
        );
      }
      if (p.sink !== undefined) {
        parts.push(
          runSink(p, client, all.signal, opts).then(
            (r) => {
              result.sink = r;
              const sink = p.sink!;
              const target = sink.type === 'jsonl' ? `jsonl ${sink.url}` : `${sink.type} table ${sink.table}`;
              (opts.stream ?? process.stderr).write(`${p.name}: wrote ${r.rows} rows from ${p.topic} to ${target}${r.dlq > 0 ? `, ${r.dlq} to ${sink.deadLetterTopic}` : ''} (${r.stopped === 'idle' ? 'caught up' : 'stopped'})\n`);
            },
            (err: unknown) => fail(p, err),
          ),
        );
      }
      await Promise.allSettled(parts);
      return result;
    });
    const results = await Promise.all(runs);
    if (firstError !== null) throw firstError;
    return results;
  } finally {
    opts.signal.removeEventListener('abort', onAbort);
  }
}
