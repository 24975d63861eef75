/**
 * `tributary console`: the web console for any Kafka cluster (it talks only the protocol), with the client's
 * security options like every other client command. Also the pieces `tributary start --console-port` uses to run
 * it inside the broker's process.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { loadLogin, type LoginCredentials } from '../console/auth.js';
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT, startConsole, type RunningConsole } from '../console/server.js';
import { action, addClientFlags, clientOptions, parsePort, UsageError, type ClientFlags } from './common.js';

interface ConsoleFlags extends ClientFlags {
  port: number;
  host: string;
  readOnly?: boolean;
  metricsUrl?: string;
  reportsDir?: string;
  loginFile?: string;
  loginUser?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function parseUrl(v: string): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new InvalidArgumentError(`expected an http(s) URL such as http://127.0.0.1:9404/metrics, got "${v}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new InvalidArgumentError(`expected an http(s) URL, got "${v}"`);
  return v;
}

/** The console login from --login-file or TRIBUTARY_CONSOLE_PASSWORD (a usage error when the file is bad). */
export function consoleLogin(file: string | undefined, user: string | undefined): LoginCredentials | undefined {
  try {
    return loadLogin({ file, user });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Stops the console on SIGTERM/SIGINT (a second signal exits at once). */
function stopOnSignals(running: RunningConsole): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), 3000).unref();
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/** The console's HTTPS certificate and key (PEM files), both or neither. */
export function consoleTls(certFile: string | undefined, keyFile: string | undefined): { cert: Buffer; key: Buffer } | undefined {
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) throw new UsageError('--tls-cert and --tls-key go together: give both PEM files, or neither for plain HTTP');
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new UsageError(`cannot read the console's TLS ${what} ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read(certFile, 'certificate'), key: read(keyFile, 'key') };
}

export function registerConsole(program: Command): void {
  const cmd = program
    .command('console')
    .description('Serve the web console (topics, messages, consumer groups, brokers, ACLs…) for a Kafka cluster')
    .option('--port <port>', `HTTP port; 0 picks a free one (default ${DEFAULT_CONSOLE_PORT})`, parsePort('--port'), DEFAULT_CONSOLE_PORT)
    .option('--host <host>', 'address to listen on; anything but loopback exposes the console to the network', DEFAULT_CONSOLE_HOST)
    .option('--read-only', 'refuse every change (create/delete topics, produce, reset offsets, ACLs…)')
    .option('--metrics-url <url>', 'the broker\'s Prometheus endpoint, for throughput and latency charts', parseUrl)
    .option('--reports-dir <dir>', 'a folder of `tributary experiment` reports to list')
    .option('--login-file <file>', 'require a login: user:password lines, or one line holding the password of --login-user')
    .option('--login-user <user>', 'the user for a single-password login file or TRIBUTARY_CONSOLE_PASSWORD (default admin)')
    .option('--tls-cert <file>', 'serve HTTPS with this PEM certificate (chain); needs --tls-key')
    .option('--tls-key <file>', 'the PEM private key of --tls-cert');
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary console --bootstrap-server 127.0.0.1:9092
  $ tributary console -b kafka-1:9092,kafka-2:9092 --read-only --port 8080
  $ tributary console -b 127.0.0.1:9092 --metrics-url http://127.0.0.1:9404/metrics
  $ TRIBUTARY_CONSOLE_PASSWORD=… tributary console -b 127.0.0.1:9092 --login-user ops
  $ tributary console -b broker:9093 --command-config client.properties --login-file console-users.txt
  $ tributary console -b 127.0.0.1:9092 --host 0.0.0.0 --tls-cert console.pem --tls-key console.key --login-file users.txt

It listens on 127.0.0.1 unless --host says otherwise; a login (--login-file, or the environment variable
TRIBUTARY_CONSOLE_PASSWORD) is asked for only when one is configured — passwords are never taken from the
command line. It works against Apache Kafka as well: it uses only the Kafka protocol.
Stops on SIGTERM or SIGINT.`)
    .action(action(async (opts: ConsoleFlags) => {
      const login = consoleLogin(opts.loginFile, opts.loginUser);
      const running = await startConsole({
        client: clientOptions(opts), host: opts.host, port: opts.port, readOnly: opts.readOnly ?? false,
        metricsUrl: opts.metricsUrl, reportsDir: opts.reportsDir, login, tls: consoleTls(opts.tlsCert, opts.tlsKey),
      });
      process.stdout.write(`Tributary console at ${running.url} (cluster ${opts.bootstrapServer}${opts.readOnly ? ', read-only' : ''}${login ? ', login required' : ''})\n`);
      stopOnSignals(running);
    }));
}
