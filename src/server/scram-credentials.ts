/**
 * The broker's SCRAM credential store, opened on first use from the data dir (a restart reads the file again).
 *
 * TODO(SASL wiring): build the store in broker.ts at start-up (FileCredentialBackend on one node, the etcd
 * backend of src/cluster/scram-credentials-etcd.ts in a cluster) and hand it to the BrokerContext; until then
 * a cluster broker refuses the credential APIs rather than keep per-broker files that would disagree.
 */
import { KafkaError } from '../errors.js';
import { FileCredentialBackend, ScramCredentialStore } from '../security/credential-store.js';
import type { BrokerContext } from './broker-context.js';

const stores = new WeakMap<BrokerContext, Promise<ScramCredentialStore>>();

export function scramCredentialsOf(broker: BrokerContext): Promise<ScramCredentialStore> {
  if (broker.replication.clustered) {
    return Promise.reject(new KafkaError('UNKNOWN_SERVER_ERROR', 'SCRAM credentials are not stored in etcd yet: this cluster broker cannot serve them'));
  }
  let store = stores.get(broker);
  if (!store) {
    store = ScramCredentialStore.open(new FileCredentialBackend(broker.dataDir));
    store.catch(() => stores.delete(broker));
    stores.set(broker, store);
  }
  return store;
}
