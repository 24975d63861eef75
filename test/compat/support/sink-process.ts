/**
 * A sink pipeline in a process of its own, for tests that SIGKILL it mid-load. argv[2] is JSON
 * `{ pipeline, bootstrapServers }`; each progress report is printed to stdout as a JSON line. The consumer's
 * session timeout is short (6 s) so that the group drops the killed member quickly when the sink restarts
 * (`tributary connect` has no flag for it, and Kafka's default is 45 s).
 */
import { runSinkPipeline } from '../../../src/connect/sink-runtime.js';
import type { PipelineConfig } from '../../../src/connect/types.js';

const { pipeline, bootstrapServers } = JSON.parse(process.argv[2]) as { pipeline: PipelineConfig; bootstrapServers: string };
const stop = new AbortController();
process.once('SIGTERM', () => stop.abort());
await runSinkPipeline(pipeline, { bootstrapServers }, {
  signal: stop.signal,
  progressIntervalMs: 50,
  onProgress: (progress) => process.stdout.write(`${JSON.stringify(progress)}\n`),
  log: (message) => process.stderr.write(`${message}\n`),
  consumer: { sessionTimeoutMs: 6000, heartbeatIntervalMs: 200 },
});
