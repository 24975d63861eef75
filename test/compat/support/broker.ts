/**
 * An in-process Tributary on an ephemeral port with a fresh data directory, for one test file.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';

export interface TestBroker {
  /** host:port for clients' bootstrap lists. */
  readonly address: string;
  readonly dataDir: string;
  /** Closes the broker and deletes its data directory. */
  close(): Promise<void>;
}

/** Three partitions per auto-created topic, so that kcat's auto-created topics exercise partitioning too. */
export const DEFAULT_CONFIG: Readonly<Record<string, string>> = { 'num.partitions': '3' };

export async function startTestBroker(config: Record<string, string> = {}): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-compat-'));
  try {
    const broker = await startBroker({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      config: { ...DEFAULT_CONFIG, ...config },
      logLevel: 'silent',
    });
    return {
      address: broker.address,
      dataDir,
      async close() {
        try {
          await broker.close();
        } finally {
          await rm(dataDir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}
