/**
 * ACLs in etcd, for a cluster: one key per binding, `<prefix>/acls/<sha256 of the binding>`, holding
 * bindingToJson's JSON. A change is one etcd transaction; a watch on `<prefix>/acls/` re-reads the set on
 * every change, so each broker's authorizer follows the others' CreateAcls/DeleteAcls at once.
 * EtcdClusterStore.aclBackend() makes one on the store's client and prefix.
 */
import { createHash } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { EtcdPrefixWatch } from './etcd-prefix-watch.js';
import { bindingKey, type AclBinding } from '../security/authorizer.js';
import { bindingFromJson, bindingToJson, type AclBackend } from '../security/acl-store.js';

export class EtcdAclBackend implements AclBackend {
  private readonly root: string;
  private readonly watcher: EtcdPrefixWatch;

  constructor(private readonly client: Etcd3, prefix: string) {
    this.root = `${prefix}/acls/`;
    this.watcher = new EtcdPrefixWatch(client, this.root);
  }

  key(b: AclBinding): string {
    return `${this.root}${createHash('sha256').update(bindingKey(b)).digest('hex')}`;
  }

  async load(): Promise<AclBinding[]> {
    const all = await this.client.getAll().prefix(this.root).strings();
    return Object.values(all).map((v) => bindingFromJson(JSON.parse(v)));
  }

  async apply(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void> {
    const success = [
      ...remove.map((b) => ({ request_delete_range: { key: Buffer.from(this.key(b)) } })),
      ...add.map((b) => ({ request_put: { key: Buffer.from(this.key(b)), value: Buffer.from(JSON.stringify(bindingToJson(b))) } })),
    ];
    const res = await this.client.kv.txn({ compare: [], success, failure: [] });
    if (!res.succeeded) throw new Error('etcd refused the ACL transaction');
  }

  watch(onChange: (all: AclBinding[]) => void): () => void {
    return this.watcher.start(() => this.load(), onChange);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}
