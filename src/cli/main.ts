/** The `tributary` command: one file per subcommand, registered here. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerStart } from './start.js';
import { registerTopics } from './topics.js';
import { registerGroups } from './groups.js';
import { registerUsers } from './users.js';
import { registerAcls } from './acls.js';
import { registerQuotas } from './quotas.js';
import { registerProduce } from './produce.js';
import { registerConsume } from './consume.js';
import { registerPerf } from './perf.js';
import { registerConnect } from './connect.js';
import { registerExperiment } from './experiment.js';
import { registerCluster } from './cluster.js';
import { registerDevCluster } from './dev-cluster.js';
import { registerConsole } from './console.js';

/** The package's own version (dist/src/cli → the package root), so it is stated once, in package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tributary')
    .description('A Kafka-compatible event streaming platform')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText('after', `
Exit status: 0 on success, 1 on any error — a usage mistake or a failure (as Kafka's tools and kcat).`);
  registerStart(program);
  registerTopics(program);
  registerGroups(program);
  registerUsers(program);
  registerAcls(program);
  registerQuotas(program);
  registerProduce(program);
  registerConsume(program);
  registerPerf(program);
  registerConnect(program);
  registerExperiment(program);
  registerCluster(program);
  registerDevCluster(program);
  registerConsole(program);
  await program.parseAsync(argv);
}
