// The package's startBroker: the broker (server/broker.ts), plus the schema registry in the same process when
// `registryPort` is given. The registry is a client of the broker (src/registry runs on the client library, which
// the server layer may not import), so the two are put together here, above both, as `tributary start
// --registry-port` does.
import {
  startBroker as startBrokerOnly, type RunningBroker as BrokerOnly, type StartBrokerOptions as BrokerOnlyOptions,
} from './server/broker.js';

export interface StartBrokerOptions extends BrokerOnlyOptions {
  /** Also serve the schema registry (Confluent's REST API) on this port, against this broker; 0 picks a free one. */
  registryPort?: number;
  /** The registry's address (default 127.0.0.1). */
  registryHost?: string;
}

export interface RunningBroker extends BrokerOnly {
  /** The schema registry's base URL when `registryPort` was given. */
  readonly registryUrl?: string;
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<RunningBroker> {
  const { registryPort, registryHost, ...brokerOptions } = opts;
  const broker = await startBrokerOnly(brokerOptions);
  if (registryPort === undefined) return broker;
  try {
    const listener = broker.listeners.find((l) => l.securityProtocol === 'PLAINTEXT');
    if (!listener) throw new Error('registryPort needs a PLAINTEXT listener for the registry to talk to');
    const host = listener.host === '' || listener.host === '0.0.0.0' ? '127.0.0.1' : listener.host === '::' ? '::1' : listener.host;
    const { startRegistry } = await import('./registry/server.js');
    const registry = await startRegistry({ client: { bootstrapServers: `${host.includes(':') ? `[${host}]` : host}:${listener.port}` }, host: registryHost, port: registryPort });
    return {
      ...broker,
      registryUrl: registry.url,
      async close(): Promise<void> {
        await registry.close().catch(() => {});
        await broker.close();
      },
    };
  } catch (err) {
    await broker.close().catch(() => {});
    throw err;
  }
}
