/** The `tributary` command: one file per subcommand, registered here. */
import { Command } from 'commander';
import { registerStart } from './start.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command();
  program
    .name('tributary')
    .description('A Kafka-compatible event streaming platform')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)');
  registerStart(program);
  await program.parseAsync(argv);
}
