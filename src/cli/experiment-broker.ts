/**
 * The experiment's embedded broker: in this process (startBroker), or as its own process (`tributary start` on a
 * free loopback port with its data in the run's temp dir), as a deployment runs it — then the sink's synchronous
 * database writes in this process do not hold up the broker's request handling.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startBroker } from '../server/broker.js';

export type BrokerPlacement = 'in-process' | 'process';
export const BROKER_PLACEMENTS: readonly BrokerPlacement[] = ['in-process', 'process'];

export interface ExperimentBroker {
  address: string;
  placement: BrokerPlacement;
  /** The child's pid (placement 'process'). */
  pid?: number;
  close(): Promise<void>;
}

/** The broker's settings for the experiment (Kafka key names). */
const SETTINGS = { 'num.partitions': '3', 'group.initial.rebalance.delay.ms': '0' };

/** "… listening on 127.0.0.1:40123" (or PLAINTEXT://127.0.0.1:40123): the address it bound. */
const LISTENING = /listening on (?:[A-Za-z0-9_]+:\/\/)?(127\.0\.0\.1):(\d+)/;

/**
 * Starts the broker with its data in `dataDir`. `cli` is the tributary CLI script a separate process runs
 * (`node <cli> start …`); it is given `startTimeoutMs` to say it listens.
 */
export async function startExperimentBroker(placement: BrokerPlacement, dataDir: string, cli: string, options: { startTimeoutMs?: number; nodeArgs?: string[] } = {}): Promise<ExperimentBroker> {
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  if (placement === 'in-process') {
    const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, config: { ...SETTINGS }, logLevel: 'silent' });
    return { address: broker.address, placement, close: () => broker.close() };
  }
  // nodeArgs: flags for the child's node itself (e.g. --cpu-prof to profile the broker alone).
  const args = [...(options.nodeArgs ?? []), cli, 'start', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--log-level', 'info'];
  for (const [k, v] of Object.entries(SETTINGS)) args.push('--set', `${k}=${v}`);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  exited.catch(() => undefined);
  let output = '';
  // Read both pipes for as long as it runs (a full pipe would block the broker); keep only the tail for errors.
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stderr.on('data', keep);
  child.stdout.on('data', keep);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the broker process did not say it listens within ${startTimeoutMs} ms`)), startTimeoutMs);
      let pending = '';
      const onData = (chunk: Buffer): void => {
        pending += chunk.toString('utf8');
        const m = LISTENING.exec(pending);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          resolve(Number(m[2]));
        } else {
          pending = pending.slice(-1000);
        }
      };
      child.stdout.on('data', onData);
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`the broker process exited (${code ?? signal}) before it listened`));
      });
    });
    return {
      address: `127.0.0.1:${port}`,
      placement,
      pid: child.pid,
      async close() {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        try {
          await exited;
        } finally {
          clearTimeout(timer);
        }
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output}`);
  }
}
