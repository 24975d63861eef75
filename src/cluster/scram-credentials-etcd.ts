/**
 * SCRAM credentials in etcd, for a cluster: one key per user and mechanism, `<prefix>/scram/<user>/<mechanism>`
 * (the user percent-encoded, so '/' cannot split it), holding credentialToJson's JSON (salt, StoredKey,
 * ServerKey, iterations; never a password). A change is one etcd transaction; a watch on `<prefix>/scram/`
 * re-reads the set on every change, so each broker's ScramCredentialStore follows the others' writes.
 * EtcdClusterStore.credentialBackend() makes one on the store's client and prefix.
 */
import type { Etcd3, Watcher } from 'etcd3';
import {
  credentialFromJson,
  credentialToJson,
  type CredentialBackend,
  type CredentialDeletion,
  type StoredScramCredential,
} from '../security/credential-store.js';

export class EtcdScramCredentialBackend implements CredentialBackend {
  private readonly root: string;
  private watcher: Watcher | undefined;
  private closed = false;

  constructor(private readonly client: Etcd3, prefix: string) {
    this.root = `${prefix}/scram/`;
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
    return () => { this.closed = true; void this.watcher?.cancel(); };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.watcher?.cancel();
  }
}
