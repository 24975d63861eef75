/**
 * `tributary registry`: the schema registry (Confluent Schema Registry's REST API) for a Kafka cluster, its state
 * in the cluster's `_schemas` topic, with the client's security options like every other client command.
 */
import { Option, type Command } from 'commander';
import { COMPATIBILITY_LEVELS, type CompatibilityLevel } from '../registry/formats.js';
import { startRegistry, type RunningRegistry } from '../registry/server.js';
import { action, addClientFlags, clientOptions, parsePort, type ClientFlags } from './common.js';

interface RegistryFlags extends ClientFlags {
  port: number;
  host: string;
  topic: string;
  compatibility: CompatibilityLevel;
}

function stopOnSignals(running: RunningRegistry): void {
  let stopping = false;
  const stop = (): void => {
    if (stopping) process.exit(1);
    stopping = true;
    setTimeout(() => process.exit(1), 5000).unref();
    running.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

export function registerRegistry(program: Command): void {
  const cmd = program
    .command('registry')
    .description('Serve a schema registry (Confluent Schema Registry REST API: Avro and JSON Schema) for a Kafka cluster')
    .option('--port <port>', 'HTTP port; 0 picks a free one', parsePort('--port'), 8081)
    .option('--host <host>', 'address to listen on; anything but loopback exposes the registry to the network', '127.0.0.1')
    .option('--topic <topic>', 'the compacted topic holding the schemas (Confluent\'s kafkastore.topic)', '_schemas')
    .addOption(new Option('--compatibility <level>', 'the global compatibility level until one is set through PUT /config')
      .choices([...COMPATIBILITY_LEVELS]).default('BACKWARD'));
  addClientFlags(cmd)
    .addHelpText('after', `
Examples:
  $ tributary registry --bootstrap-server 127.0.0.1:9092 --port 8081
  $ curl -s -X POST -H 'Content-Type: application/vnd.schemaregistry.v1+json' \\
      --data '{"schema": "{\\"type\\":\\"record\\",\\"name\\":\\"User\\",\\"fields\\":[{\\"name\\":\\"id\\",\\"type\\":\\"long\\"}]}"}' \\
      http://127.0.0.1:8081/subjects/users-value/versions
  $ tributary produce -t users --value-format avro --schema-registry http://127.0.0.1:8081 --value-schema-file user.avsc

Every registry started against the same cluster (and --topic) serves the same subjects and ids: the state is the
topic, read to its end at start and tailed; writes go through it. It uses only the Kafka protocol (transactions).
Stops on SIGTERM or SIGINT.`)
    .action(action(async (opts: RegistryFlags) => {
      const running = await startRegistry({
        client: clientOptions(opts), host: opts.host, port: opts.port, topic: opts.topic, defaultCompatibility: opts.compatibility,
      });
      process.stdout.write(`Tributary schema registry at ${running.url} (cluster ${opts.bootstrapServer}, topic ${opts.topic})\n`);
      stopOnSignals(running);
    }));
}
