/**
 * For a test file about EtcdClusterStore: one etcd process for the file (started before its tests, stopped after
 * them), stores opened on it under fresh key prefixes so that tests share the etcd but not its keys, and every
 * store (and anything else registered) closed after the file. etcdClientFixture: the same for a test of one
 * etcd backend, with a bare etcd3 client.
 */
import { after, before } from 'node:test';
import { Etcd3 } from 'etcd3';
import { EtcdClusterStore } from '../../src/cluster/etcd-store.js';
import { createLogger } from '../../src/logger.js';
import { startEtcd, type EtcdProcess } from './etcd.js';

export interface EtcdStoreFixture {
  /** The file's etcd (after `before` ran). */
  readonly etcd: EtcdProcess;
  /** A key prefix no other test of the process uses. */
  freshPrefix(): string;
  /** A store on the file's etcd (or `endpoints`), closed after the file. Lease TTL 2 s unless told. */
  open(prefix: string, opts?: { endpoints?: string[]; leaseTtlSeconds?: number }): Promise<EtcdClusterStore>;
  /** Runs `fn` after the file's tests, before the stores close (last registered first). */
  onCleanup(fn: () => unknown): void;
}

export function etcdStoreFixture(name: string): EtcdStoreFixture {
  const logger = createLogger('silent');
  let etcd: EtcdProcess | undefined;
  let counter = 0;
  const stores: EtcdClusterStore[] = [];
  const cleanups: Array<() => unknown> = [];
  before(async () => { etcd = await startEtcd(); });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
    await Promise.all(stores.map((s) => s.close()));
    await etcd?.stop();
  });
  return {
    get etcd(): EtcdProcess {
      if (!etcd) throw new Error('etcd is started by the fixture\'s before hook');
      return etcd;
    },
    freshPrefix: () => `/${name}${process.pid}-${++counter}`,
    async open(prefix, opts = {}) {
      const store = await EtcdClusterStore.connect({ endpoints: opts.endpoints ?? [this.etcd.endpoint], prefix, leaseTtlSeconds: opts.leaseTtlSeconds ?? 2, logger });
      stores.push(store);
      return store;
    },
    onCleanup: (fn) => { cleanups.push(fn); },
  };
}

/** For a test file about one etcd backend: an etcd process and a client on it, for the file's tests. */
export function etcdClientFixture(): { readonly client: Etcd3 } {
  let etcd: EtcdProcess | undefined;
  let client: Etcd3 | undefined;
  before(async () => {
    etcd = await startEtcd();
    client = new Etcd3({ hosts: [etcd.endpoint] });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });
  return {
    get client(): Etcd3 {
      if (!client) throw new Error('etcd is started by the fixture\'s before hook');
      return client;
    },
  };
}
