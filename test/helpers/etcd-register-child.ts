/**
 * A broker stand-in for the etcd store tests: registers node <nodeId> at <endpoint> with a 2 s lease, prints
 * "registered <brokerEpoch>" and waits to be killed (kill -9 leaves its lease to expire in etcd).
 */
import { EtcdClusterStore } from '../../src/cluster/etcd-store.js';
import { createLogger } from '../../src/logger.js';

const [endpoint, nodeId, prefix] = process.argv.slice(2);
const store = await EtcdClusterStore.connect({ endpoints: [endpoint!], prefix, leaseTtlSeconds: 2, logger: createLogger('silent') });
const epoch = await store.registerBroker({ nodeId: Number(nodeId), host: '127.0.0.1', port: 9092, rack: null, incarnationId: `child-${process.pid}` });
process.stdout.write(`registered ${epoch}\n`);
setInterval(() => undefined, 1000);
