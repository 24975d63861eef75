/**
 * SCRAM credentials in etcd, for a cluster: one key per user and mechanism, `<prefix>/scram/<user>/<mechanism>`
 * (the user percent-encoded, so '/' cannot split it), holding credentialToJson's JSON (salt, StoredKey,
 * ServerKey, iterations; never a password). A change is one etcd transaction; a watch on `<prefix>/scram/`
 * re-reads the set on every change, so each broker's ScramCredentialStore follows the others' writes.
 * EtcdClusterStore.credentialBackend() makes one on the store's client and prefix.
 */
import type { Etcd3 } from 'etcd3';
import { EtcdPrefixWatch } from './etcd-prefix-watch.js';
import {
  credentialFromJson,
  credentialToJson,
  type CredentialBackend,
  type CredentialDeletion,
  type StoredScramCredential,
} from '../security/credential-store.js';

export class EtcdScramCredentialBackend implements CredentialBackend {
  private readonly root: string;
  private readonly watcher: EtcdPrefixWatch;

  constructor(private readonly client: Etcd3, prefix: string) {
    this.root = `${prefix}/scram/`;
    this.watcher = new EtcdPrefixWatch(client, this.root);
  }

  key(user: string, mechanism: string): string {
    return `${this.root}${encodeURIComponent(user)}/${mechanism}`;
  }

  async load(): Promise<StoredScramCredential[]> {
    const all = await this.client.getAll().prefix(this.root).strings();
    return Object.values(all).map((v) => credentialFromJson(JSON.parse(v)));
  }

  async apply(upserts: readonly StoredScramCredential[], deletions: readonly CredentialDeletion[]): Promise<void> {
    const success = [
      ...deletions.map((d) => ({ request_delete_range: { key: Buffer.from(this.key(d.user, d.mechanism)) } })),
      ...upserts.map((u) => ({ request_put: { key: Buffer.from(this.key(u.user, u.mechanism)), value: Buffer.from(JSON.stringify(credentialToJson(u))) } })),
    ];
    const res = await this.client.kv.txn({ compare: [], success, failure: [] });
    if (!res.succeeded) throw new Error('etcd refused the SCRAM credential transaction');
  }

  watch(onChange: (all: StoredScramCredential[]) => void): () => void {
    return this.watcher.start(() => this.load(), onChange);
  }

  close(): Promise<void> {
    return this.watcher.close();
  }
}
