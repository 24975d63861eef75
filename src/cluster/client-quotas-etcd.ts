/**
 * Client quotas in etcd, for a cluster: one key per quota entity, `<prefix>/quotas/<entityKey>` (entityKey's
 * names are percent-encoded, so a '/' in a user or client id cannot split it), holding recordToJson's JSON. A
 * change is one etcd transaction (an entity left with no quota is deleted), guarded by each key's mod revision
 * as last loaded: if another broker changed one of the entities meanwhile, nothing is written and the store
 * reloads and recomputes (ConcurrentQuotaChangeError), so two brokers altering one entity lose neither change.
 * A watch on `<prefix>/quotas/` re-reads the set on every change, so each broker's ClientQuotaStore follows the
 * others' writes. EtcdClusterStore.clientQuotaBackend() makes one on the store's client and prefix.
 */
import type { Etcd3 } from 'etcd3';
import { EtcdPrefixWatch } from './etcd-prefix-watch.js';
import {
  ConcurrentQuotaChangeError, entityKey, recordFromJson, recordToJson, type ClientQuotaBackend, type ClientQuotaRecord,
} from '../security/client-quotas.js';

export class EtcdClientQuotaBackend implements ClientQuotaBackend {
  private readonly root: string;
  private readonly watcher: EtcdPrefixWatch;
  /** Each key's mod revision as last loaded or written (absent: the key did not exist). */
  private revisions = new Map<string, string>();

  constructor(private readonly client: Etcd3, prefix: string) {
    this.root = `${prefix}/quotas/`;
    this.watcher = new EtcdPrefixWatch(client, this.root);
  }

  async load(): Promise<ClientQuotaRecord[]> {
    const res = await this.client.getAll().prefix(this.root).exec();
    const revisions = new Map<string, string>();
    const out: ClientQuotaRecord[] = [];
    for (const kv of res.kvs) {
      revisions.set(kv.key.toString('utf8'), String(kv.mod_revision));
      out.push(recordFromJson(JSON.parse(kv.value.toString('utf8'))));
    }
    this.revisions = revisions;
    return out;
  }

  async apply(changes: readonly ClientQuotaRecord[]): Promise<void> {
    if (changes.length === 0) return;
    const keys = changes.map((c) => this.root + entityKey(c.entity));
    const guard = (k: string): [string, 'Mod' | 'Create', '==', number] => {
      const rev = this.revisions.get(k);
      return rev === undefined ? [k, 'Create', '==', 0] : [k, 'Mod', '==', Number(rev)];
    };
    let txn = this.client.if(...guard(keys[0]!));
    for (const k of keys.slice(1)) txn = txn.and(...guard(k));
    const ops = changes.map((c, i) => (Object.keys(c.quotas).length === 0
      ? this.client.delete().key(keys[i]!)
      : this.client.put(keys[i]!).value(JSON.stringify(recordToJson(c)))));
    const res = await txn.then(...ops).commit();
    if (!res.succeeded) throw new ConcurrentQuotaChangeError('another broker changed these client quotas meanwhile');
    changes.forEach((c, i) => {
      if (Object.keys(c.quotas).length === 0) this.revisions.delete(keys[i]!);
      else this.revisions.set(keys[i]!, String(res.header.revision));
    });
  }

  watch(onChange: (all: ClientQuotaRecord[]) => void): () => void {
    return this.watcher.start(() => this.load(), onChange);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}
