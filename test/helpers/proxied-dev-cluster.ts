/**
 * A dev cluster whose brokers can be cut off: a FaultProxy in front of each broker (its advertised listener, so
 * clients and the other brokers reach it only through the proxy) and one in front of etcd for each broker (its
 * --etcd). `isolate(id)` cuts both: nobody reaches the broker and it loses its etcd session (its lease expires,
 * the controller moves its leaderships away). What it does not cut: the isolated broker's own connections to the
 * other brokers (they go through the others' proxies), so it is "unreachable", not fully partitioned.
 */
import { startDevCluster, type DevCluster, type DevClusterOptions } from '../../src/cli/dev-cluster.js';
import { FaultProxy } from './fault-proxy.js';

export interface ProxiedDevCluster {
  readonly cluster: DevCluster;
  /** By node id: the proxy clients and brokers use to reach that broker. */
  readonly brokerProxies: Map<number, FaultProxy>;
  /** By node id: that broker's own way to etcd. */
  readonly etcdProxies: Map<number, FaultProxy>;
  /** host:port of the brokers' proxies, for --bootstrap-server. */
  readonly bootstrapServers: string;
  /** Cuts the broker's inbound proxy and its etcd proxy. */
  isolate(nodeId: number): void;
  heal(nodeId: number): void;
  /** Stops the cluster, then the proxies. */
  stop(): Promise<void>;
}

export async function startProxiedDevCluster(opts: DevClusterOptions & { basePort: number; etcdPort: number }): Promise<ProxiedDevCluster> {
  const brokerProxies = new Map<number, FaultProxy>();
  const etcdProxies = new Map<number, FaultProxy>();
  const closeProxies = async (): Promise<void> => {
    await Promise.all([...brokerProxies.values(), ...etcdProxies.values()].map((p) => p.close()));
  };
  try {
    const brokerSettings: Record<number, Record<string, string>> = {};
    const brokerEtcd: Record<number, string> = {};
    for (let id = 1; id <= opts.brokers; id++) {
      // Proxies start before their targets: they connect upstream only when a client connects.
      const proxy = await FaultProxy.start({ targetPort: opts.basePort + id - 1 });
      brokerProxies.set(id, proxy);
      brokerSettings[id] = { ...opts.brokerSettings?.[id], 'advertised.listeners': `PLAINTEXT://${proxy.address}` };
      const etcdProxy = await FaultProxy.start({ targetPort: opts.etcdPort });
      etcdProxies.set(id, etcdProxy);
      brokerEtcd[id] = `http://${etcdProxy.address}`;
    }
    const cluster = await startDevCluster({ ...opts, brokerSettings, brokerEtcd });
    const get = (m: Map<number, FaultProxy>, id: number): FaultProxy => {
      const p = m.get(id);
      if (!p) throw new Error(`no broker ${id} in this dev cluster`);
      return p;
    };
    return {
      cluster,
      brokerProxies,
      etcdProxies,
      bootstrapServers: [...brokerProxies.values()].map((p) => p.address).join(','),
      isolate(id) {
        get(brokerProxies, id).cut();
        get(etcdProxies, id).cut();
      },
      heal(id) {
        get(brokerProxies, id).heal();
        get(etcdProxies, id).heal();
      },
      async stop() {
        try {
          await cluster.stop();
        } finally {
          await closeProxies();
        }
      },
    };
  } catch (err) {
    await closeProxies();
    throw err;
  }
}
