/** `tributary perf produce|consume|e2e`: Kafka's performance tools, with the same output lines. */
import type { Command } from 'commander';
import { registerPerfConsume } from './perf-consume.js';
import { registerPerfE2e } from './perf-e2e.js';
import { registerPerfProduce } from './perf-produce.js';

export function registerPerf(program: Command): void {
  const perf = program
    .command('perf')
    .description('Performance tests: producer throughput/latency, consumer throughput, end-to-end latency');
  registerPerfProduce(perf);
  registerPerfConsume(perf);
  registerPerfE2e(perf);
}
