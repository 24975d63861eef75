/**
 * Worker thread of the experiment: runs the via-broker path's sink (startSinkHere: runSinkPipeline into SqlSink)
 * on a thread of its own and reports to startSink by message — joined, each write's counts, log lines, and the
 * result once stopped. The sink is the same code as on the main thread; only where it runs differs.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ClientOptions } from '../client/cluster.js';
import type { DbSpec } from './db.js';
import { startSinkHere, type SinkNames, type SinkWorkerMessage } from './pipeline.js';

const { spec, client, names, target } = workerData as { spec: DbSpec; client: ClientOptions; names: SinkNames; target: number };
const port = parentPort!;
const post = (m: SinkWorkerMessage): void => port.postMessage(m);

try {
  const running = await startSinkHere(spec, client, names, target, (message) => post({ type: 'log', message }), (sink, driver) => {
    post({ type: 'progress', rows: sink.rows, statements: driver.statements, reachedAtWall: sink.reachedAt === null ? null : performance.timeOrigin + sink.reachedAt });
  });
  // The join is polled here, where the sink runs, and told once.
  const joined = setInterval(() => {
    if (running.joined()) {
      clearInterval(joined);
      post({ type: 'joined' });
    }
  }, 10);
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    clearInterval(joined);
    running.stop().then(
      (result) => {
        post({ type: 'stopped', result, rows: running.sink.rows, statements: running.driver.statements });
        port.close();
      },
      (err: unknown) => post({ type: 'failed', message: (err as Error).message }),
    );
  });
} catch (err) {
  post({ type: 'failed', message: (err as Error).message });
}
