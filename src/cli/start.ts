/** `tributary start`: run a broker in the foreground until SIGTERM/SIGINT. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { startBroker } from '../start-broker.js';
import { LOG_LEVELS, type LogLevel } from '../logger.js';
import type { RunningConsole } from '../console/server.js';
import { parsePort } from './common.js';

function collectSet(value: string, previous: Record<string, string>): Record<string, string> {
  const i = value.indexOf('=');
  if (i <= 0) throw new InvalidArgumentError(`--set expects key=value, got "${value}"`);
  return { ...previous, [value.slice(0, i).trim()]: value.slice(i + 1).trim() };
}

export function registerStart(program: Command): void {
  program
    .command('start')
    .description('Start a broker (Kafka protocol on --host:--port, data in --data-dir)')
    .option('--host <host>', 'address to listen on (default: from listeners, 127.0.0.1)')
    .option('--port <port>', 'port to listen on; 0 picks a free one (default: from listeners, 9092)', parsePort('--port'))
    .option('--data-dir <dir>', 'where logs and metadata live (default: log.dirs, ./data)')
    .option('--config <file>', 'a server.properties-style file with Kafka config keys')
    .option('--set <key=value>', 'set a config key (repeatable), e.g. --set num.partitions=3', collectSet, {})
    .option('--node-id <id>', 'this broker\'s id in a cluster (node.id)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--node-id must be a non-negative integer, got "${v}"`);
      return n;
    })
    .option('--etcd <endpoints>', 'join a cluster whose metadata lives in etcd: http://host:2379[,http://host2:2379…] (etcd.connect)')
    .option('--etcd-prefix <prefix>', 'the cluster\'s key prefix in etcd (etcd.prefix, default /tributary)')
    .option('--metrics-port <port>', 'serve Prometheus metrics at http://127.0.0.1:<port>/metrics (metrics.port; off by default; 0 picks a free port; the address: --set metrics.host=…)', parsePort('--metrics-port'))
    .addOption(new Option('--log-level <level>', 'how much the broker logs').choices(LOG_LEVELS).default('info'))
    .option('--console-port <port>', 'also serve the web console on this port (0 picks a free one), against this broker', parsePort('--console-port'))
    .option('--console-host <host>', 'the console\'s address (default 127.0.0.1)')
    .option('--console-read-only', 'the console refuses every change')
    .option('--console-tls-cert <file>', 'the console serves HTTPS with this PEM certificate (with --console-tls-key)')
    .option('--console-tls-key <file>', 'the PEM private key of --console-tls-cert')
    .option('--registry-port <port>', 'also serve the schema registry (Confluent\'s REST API) on this port (0 picks a free one), against this broker', parsePort('--registry-port'))
    .option('--registry-host <host>', 'the schema registry\'s address (default 127.0.0.1)')
    .addHelpText('after', `
Examples:
  $ tributary start
  $ tributary start --port 9093 --data-dir /var/lib/tributary --set num.partitions=3
  $ tributary start --config server.properties
  $ tributary start --metrics-port 9404        # then: curl http://127.0.0.1:9404/metrics
  $ tributary start --node-id 2 --etcd http://127.0.0.1:2379 --port 9094 --data-dir ./data-2   # a cluster's broker
  $ tributary start --console-port 9021                         # with the web console on http://127.0.0.1:9021/
  $ tributary start --registry-port 8081                        # with the schema registry on http://127.0.0.1:8081/

The console (--console-port) runs in the broker's process and talks to the broker's first PLAINTEXT listener;
set TRIBUTARY_CONSOLE_PASSWORD to require a login (user admin).

Stops cleanly on SIGTERM or SIGINT (Ctrl-C): finishes in-flight requests, flushes, marks a clean shutdown.
One broker per data directory: a second start on a directory in use exits 1 (the first holds <dir>/.lock).`)
    .action(async (opts: {
      host?: string; port?: number; dataDir?: string; config?: string; set: Record<string, string>; logLevel: LogLevel; nodeId?: number; etcd?: string; etcdPrefix?: string; metricsPort?: number;
      consolePort?: number; consoleHost?: string; consoleReadOnly?: boolean; consoleTlsCert?: string; consoleTlsKey?: string;
      registryPort?: number; registryHost?: string;
    }) => {
      let broker;
      let webConsole: RunningConsole | undefined;
      const config: Record<string, string> = { ...opts.set };
      if (opts.nodeId !== undefined) config['node.id'] = String(opts.nodeId);
      if (opts.etcd !== undefined) config['etcd.connect'] = opts.etcd;
      if (opts.etcdPrefix !== undefined) config['etcd.prefix'] = opts.etcdPrefix;
      if (opts.metricsPort !== undefined) config['metrics.port'] = String(opts.metricsPort);
      const clustered = config['etcd.connect'] !== undefined;
      try {
        broker = await startBroker({
          host: opts.host, port: opts.port, dataDir: opts.dataDir, configFile: opts.config, config, logLevel: opts.logLevel,
          registryPort: opts.registryPort, registryHost: opts.registryHost,
        });
        if (broker.registryUrl !== undefined) console.log(`Tributary schema registry at ${broker.registryUrl}`);
      } catch (err) {
        // A bad config value, a data directory in use or not writable, a port taken: one line, exit 1.
        console.error(`tributary: ${(err as Error).message}`);
        process.exit(1);
      }
      if (opts.consolePort !== undefined) {
        try {
          // The broker's own first listener a client can reach without credentials.
          const listener = broker.listeners.find((l) => l.securityProtocol === 'PLAINTEXT');
          if (!listener) throw new Error('--console-port needs a PLAINTEXT listener to talk to (run `tributary console` with the client\'s security options instead)');
          const host = listener.host === '' || listener.host === '0.0.0.0' ? '127.0.0.1' : listener.host === '::' ? '::1' : listener.host;
          // Loaded only when asked for: a broker without a console does not pay for its modules.
          const [{ startConsole }, { consoleLogin, consoleTls }] = await Promise.all([import('../console/server.js'), import('./console.js')]);
          webConsole = await startConsole({
            client: { bootstrapServers: `${host.includes(':') ? `[${host}]` : host}:${listener.port}` },
            host: opts.consoleHost, port: opts.consolePort, readOnly: opts.consoleReadOnly ?? false,
            login: consoleLogin(undefined, undefined), tls: consoleTls(opts.consoleTlsCert, opts.consoleTlsKey),
            // The broker's own metrics endpoint (--metrics-port), for the console's latency charts.
            metricsUrl: broker.metricsUrl,
          });
          console.log(`Tributary console at ${webConsole.url}`);
        } catch (err) {
          console.error(`tributary: the console could not start: ${(err as Error).message}`);
          await broker.close().catch(() => {});
          process.exit(1);
        }
      }
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          process.exit(1);
        }
        stopping = true;
        // In a cluster the broker first hands its partitions' leadership over (controlled shutdown). A clean close
        // flushes every partition and writes its producer snapshot: with 10,000 partitions that is ~30,000 fsyncs,
        // about 5 s on the benchmark VM, so the budget leaves room for it (cutting it short costs a recovery).
        const budgetS = clustered ? 45 : 30;
        setTimeout(() => {
          console.error(`tributary: shutdown after ${signal} took longer than ${budgetS} s; exiting (the next start recovers the data directory)`);
          process.exit(1);
        }, budgetS * 1000).unref();
        (webConsole?.close() ?? Promise.resolve()).catch(() => {}).then(() => broker.close()).then(() => process.exit(0), (err) => {
          console.error(`tributary: error during shutdown: ${(err as Error).message}`);
          process.exit(1);
        });
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
    });
}
