/**
 * The process entry of the Kafka-script drop-ins: `kafka/bin/kafka-topics.sh …` runs
 * `node dist/src/cli/kafka/entry.js kafka-topics …`. Only the one tool's module is loaded (each call
 * pays Node's start-up, so nothing else is imported). Exit code 0, or 1 for any error, as Kafka's tools.
 */
import { readFileSync } from 'node:fs';
import { KafkaUsageError, parseArgs, usage, type KafkaTool, type OptionSpecs } from './options.js';
import { exitQuietlyOnClosedStdout } from '../stdout.js';

exitQuietlyOnClosedStdout();

const TOOLS: Record<string, () => Promise<{ default: KafkaTool }>> = {
  'kafka-topics': () => import('./topics.js'),
  'kafka-configs': () => import('./configs.js'),
  'kafka-console-producer': () => import('./console-producer.js'),
  'kafka-console-consumer': () => import('./console-consumer.js'),
  'kafka-consumer-groups': () => import('./consumer-groups.js'),
  'kafka-producer-perf-test': () => import('./producer-perf-test.js'),
  'kafka-consumer-perf-test': () => import('./consumer-perf-test.js'),
  'kafka-leader-election': () => import('./leader-election.js'),
  'kafka-reassign-partitions': () => import('./reassign-partitions.js'),
  'kafka-acls': () => import('./acls.js'),
};

const COMMON: OptionSpecs = {
  help: { arg: 'none', help: 'Print usage information.' },
  version: { arg: 'none', help: 'Display Tributary version.' },
};

async function main(): Promise<void> {
  const [name, ...argv] = process.argv.slice(2);
  const load = TOOLS[name];
  if (load === undefined) {
    process.stderr.write(`unknown Kafka tool '${name ?? ''}': one of ${Object.keys(TOOLS).join(', ')}\n`);
    process.exitCode = 1;
    return;
  }
  const tool = (await load()).default;
  const specs = { ...tool.specs, ...COMMON };
  try {
    const args = parseArgs(argv, specs);
    if (args.has('help')) {
      process.stdout.write(usage(tool.description, specs));
      return;
    }
    // Kafka's tools print usage on stderr and exit 1 when called with nothing at all.
    if (argv.length === 0) throw new KafkaUsageError('No options given.');
    if (args.has('version')) {
      const pkg = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
      process.stdout.write(`${pkg.version} (Tributary)\n`);
      return;
    }
    await tool.run(args);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(err instanceof KafkaUsageError ? `${message}\n${usage(tool.description, specs)}` : tool.errorText(message, argv));
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
