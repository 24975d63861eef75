/** The `tributary` command: one file per subcommand, registered here. */
import { Command } from 'commander';
import { packageVersion } from '../util/package-version.js';
/**
 * Each subcommand's module, loaded only when that command runs: a command pays for its own imports (the broker,
 * the client, SQL drivers, the console…) and not for the others' — `tributary --version` loads none of them.
 */
type Register = (program: Command) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  start: async () => (await import('./start.js')).registerStart,
  topics: async () => (await import('./topics.js')).registerTopics,
  groups: async () => (await import('./groups.js')).registerGroups,
  users: async () => (await import('./users.js')).registerUsers,
  acls: async () => (await import('./acls.js')).registerAcls,
  quotas: async () => (await import('./quotas.js')).registerQuotas,
  produce: async () => (await import('./produce.js')).registerProduce,
  consume: async () => (await import('./consume.js')).registerConsume,
  perf: async () => (await import('./perf.js')).registerPerf,
  connect: async () => (await import('./connect.js')).registerConnect,
  experiment: async () => (await import('./experiment.js')).registerExperiment,
  cluster: async () => (await import('./cluster.js')).registerCluster,
  'dev-cluster': async () => (await import('./dev-cluster.js')).registerDevCluster,
  console: async () => (await import('./console.js')).registerConsole,
  top: async () => (await import('./top.js')).registerTop,
  streams: async () => (await import('./streams.js')).registerStreams,
  registry: async () => (await import('./registry.js')).registerRegistry,
};

/**
 * The commands to register for these arguments: only the one named (also as `help <command>`); none for
 * `--version`; all of them otherwise (the top-level help lists them, and an unknown command is reported as usual).
 */
function commandsFor(argv: string[]): string[] {
  const args = argv.slice(2);
  const first = args[0];
  if (first === '--version' || first === '-V') return [];
  const named = first === 'help' ? args[1] : first;
  if (named !== undefined && Object.hasOwn(COMMANDS, named)) return [named];
  return Object.keys(COMMANDS);
}

/** The package's own version (dist/src/cli → the package root), so it is stated once, in package.json. */

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tributary')
    .description('A Kafka-compatible event streaming platform')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Exit status: 0 on success, 1 on any error — a usage mistake or a failure (as Kafka's tools and kcat).`);
  const registers = await Promise.all(commandsFor(argv).map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
  await program.parseAsync(argv);
}
