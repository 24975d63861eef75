/**
 * Client quotas in etcd, for a cluster: one key per quota entity, `<prefix>/quotas/<entityKey>` (entityKey's
 * names are percent-encoded, so a '/' in a user or client id cannot split it), holding recordToJson's JSON. A
 * change is one etcd transaction (an entity left with no quota is deleted); a watch on `<prefix>/quotas/` re-reads
 * the set on every change, so each broker's ClientQuotaStore follows the others' writes.
 * EtcdClusterStore.clientQuotaBackend() makes one on the store's client and prefix.
 */
import type { Etcd3, Watcher } from 'etcd3';
import { entityKey, recordFromJson, recordToJson, type ClientQuotaBackend, type ClientQuotaRecord } from '../security/client-quotas.js';

export class EtcdClientQuotaBackend implements ClientQuotaBackend {
  private readonly root: string;
  private watcher: Watcher | undefined;
  private closed = false;
  private cancelled: Promise<void> | undefined;

  constructor(private readonly client: Etcd3, prefix: string) {
    this.root = `${prefix}/quotas/`;
  }

  async load(): Promise<ClientQuotaRecord[]> {
    const all = await this.client.getAll().prefix(this.root).strings();
    return Object.values(all).map((v) => recordFromJson(JSON.parse(v)));
  }

  async apply(changes: readonly ClientQuotaRecord[]): Promise<void> {
    const success = changes.map((c) => {
      const key = Buffer.from(this.root + entityKey(c.entity));
      return Object.keys(c.quotas).length === 0
        ? { request_delete_range: { key } }
        : { request_put: { key, value: Buffer.from(JSON.stringify(recordToJson(c))) } };
    });
    const res = await this.client.kv.txn({ compare: [], success, failure: [] });
    if (!res.succeeded) throw new Error('etcd refused the client quota transaction');
  }

  watch(onChange: (all: ClientQuotaRecord[]) => void): () => void {
    let reloading = Promise.resolve();
    const reload = (): void => {
      reloading = reloading.then(async () => {
        if (this.closed) return;
        onChange(await this.load());
      }).catch(() => undefined);
    };
    void this.client.watch().prefix(this.root).create().then((w) => {
      if (this.closed) { void w.cancel(); return; }
      this.watcher = w;
      w.on('put', reload);
      w.on('delete', reload);
      reload(); // whatever changed between load() and the watch's start
    }).catch(() => undefined);
    return () => { void this.close(); };
  }

  /** Cancels the watch once (the store's unwatch and the cluster's close both end here). */
  close(): Promise<void> {
    this.closed = true;
    this.cancelled ??= this.watcher?.cancel().catch(() => undefined) ?? Promise.resolve();
    return this.cancelled;
  }
}
