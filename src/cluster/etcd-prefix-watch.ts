/**
 * The watch the etcd metadata backends (ACLs, SCRAM credentials, client quotas) share: follow every key under
 * a prefix and, after each watch response (a put or delete of one or more keys), reload the whole set and hand it on — one reload at a time, in order,
 * and once more when the watch starts (whatever changed between the first load and the watch). Closing cancels
 * the etcd watcher exactly once, however many callers close it (a store's unwatch and the cluster's close both
 * do; a second cancel of an etcd3 Watcher never settles and hung a broker's close).
 */
import type { Etcd3, Watcher } from 'etcd3';

export class EtcdPrefixWatch {
  private watcher: Watcher | undefined;
  private closed = false;
  private cancelled: Promise<void> | undefined;

  constructor(private readonly client: Etcd3, private readonly prefix: string) {}

  /** Calls onChange with load()'s result after every change under the prefix; returns a function that closes. */
  start<T>(load: () => Promise<T>, onChange: (all: T) => void): () => void {
    let reloading = Promise.resolve();
    const reload = (): void => {
      reloading = reloading.then(async () => {
        if (this.closed) return;
        onChange(await load());
      }).catch(() => undefined);
    };
    void this.client.watch().prefix(this.prefix).create().then((w) => {
      if (this.closed) { void w.cancel(); return; }
      this.watcher = w;
      // One reload per watch response ('data'), however many keys it changed (a transaction writes several).
      w.on('data', reload);
      reload();
    }).catch(() => undefined);
    return () => { void this.close(); };
  }

  /** Stops reloading and cancels the watcher once; later calls return the same promise. */
  close(): Promise<void> {
    this.closed = true;
    this.cancelled ??= this.watcher?.cancel().catch(() => undefined) ?? Promise.resolve();
    return this.cancelled;
  }
}
