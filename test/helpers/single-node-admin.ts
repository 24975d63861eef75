/**
 * For a test file about one node's admin APIs: a broker on a fresh data dir and a connected Admin, started
 * before the file's tests and closed (the data dir removed) after them, with a restart on the same data dir.
 */
import { after, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { Admin } from '../../src/client/admin.js';

export interface SingleNodeAdmin {
  readonly dataDir: string;
  readonly broker: RunningBroker;
  readonly admin: Admin;
  /** Closes the admin and the broker, then starts both again on the same data dir. */
  restart(): Promise<void>;
}

/** `onStart` runs on every broker started (the first and each restart's) before the admin connects. */
export function singleNodeAdmin(tempPrefix: string, onStart?: (broker: RunningBroker) => void): SingleNodeAdmin {
  let dataDir: string | undefined;
  let broker: RunningBroker | undefined;
  let admin: Admin | undefined;
  const need = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('the broker is started by the fixture\'s before hook');
    return v;
  };
  const start = async (): Promise<void> => {
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir: need(dataDir), logLevel: 'silent' });
    onStart?.(broker);
    admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    await admin.connect();
  };
  const stop = async (): Promise<void> => {
    await admin?.close();
    await broker?.close();
  };
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), tempPrefix));
    await start();
  });
  after(async () => {
    await stop();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });
  return {
    get dataDir() { return need(dataDir); },
    get broker() { return need(broker); },
    get admin() { return need(admin); },
    async restart() {
      await stop();
      await start();
    },
  };
}
