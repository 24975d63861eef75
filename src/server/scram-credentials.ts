/**
 * The broker's SCRAM credential store, opened on first use: from the data dir on a single node (a restart reads
 * the file again), from etcd in a cluster (every broker serves the same credentials and follows the others'
 * changes). The SASL wiring will open it at start-up instead, for SaslAuthenticate.
 */
import { FileCredentialBackend, ScramCredentialStore } from '../security/credential-store.js';
import type { BrokerContext } from './broker-context.js';

const stores = new WeakMap<BrokerContext, Promise<ScramCredentialStore>>();

export function scramCredentialsOf(broker: BrokerContext): Promise<ScramCredentialStore> {
  let store = stores.get(broker);
  if (!store) {
    store = ScramCredentialStore.open(broker.replication.credentialBackend?.() ?? new FileCredentialBackend(broker.dataDir));
    store.catch(() => stores.delete(broker));
    stores.set(broker, store);
  }
  return store;
}
