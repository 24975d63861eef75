/**
 * A cluster of in-process brokers (startBroker) on one real etcd, for the unit tests of src/cluster. Each node id
 * keeps its data dir for the life of the cluster, so `stop(id)` then `start(id)` is a restart on the same log.
 * Brokers run with FAST_CLUSTER_SETTINGS plus the settings given to the constructor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { startEtcd, type EtcdProcess } from './etcd.js';
import { FAST_CLUSTER_SETTINGS } from './cluster-settings.js';

export class InProcessCluster {
  etcd!: EtcdProcess;
  readonly dirs = new Map<number, string>();
  /** The running brokers by node id. */
  readonly brokers = new Map<number, RunningBroker>();

  /** `name` goes into the data dirs' names (tributary-<name>-<id>-…). */
  constructor(private readonly name: string, private readonly config: Record<string, string> = {}) {}

  /** Starts etcd, then the brokers `ids` one after the other. */
  async open(ids: readonly number[]): Promise<void> {
    this.etcd = await startEtcd();
    for (const id of ids) await this.start(id);
  }

  /** Starts broker `id` on its data dir (made on first use). */
  async start(id: number): Promise<RunningBroker> {
    if (!this.dirs.has(id)) this.dirs.set(id, mkdtempSync(join(tmpdir(), `tributary-${this.name}-${id}-`)));
    const b = await startBroker({ port: 0, dataDir: this.dirs.get(id)!, logLevel: 'warn', config: { ...FAST_CLUSTER_SETTINGS, ...this.config, 'etcd.connect': this.etcd.endpoint, 'node.id': id } });
    this.brokers.set(id, b);
    return b;
  }

  /** Closes broker `id` (a controlled shutdown); its data dir stays for a restart. */
  async stop(id: number): Promise<void> {
    await this.brokers.get(id)?.close();
    this.brokers.delete(id);
  }

  /** The running brokers' addresses, comma-joined. */
  bootstrap(): string {
    return [...this.brokers.values()].map((b) => b.address).join(',');
  }

  /** Closes every broker and etcd and removes the data dirs, whatever state a test left them in. */
  async close(): Promise<void> {
    for (const b of this.brokers.values()) await b.close().catch(() => undefined);
    await this.etcd?.stop();
    for (const d of this.dirs.values()) rmSync(d, { recursive: true, force: true });
  }
}
