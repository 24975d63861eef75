/**
 * `tributary dev-cluster` as the CLI registers it, with single-node brokers standing in for cluster brokers
 * (single-node-start.ts), so a test can run the command as a process and stop it with a signal today.
 */
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerDevCluster } from '../../src/cli/dev-cluster.js';

const program = new Command().name('tributary');
registerDevCluster(program, { cliEntry: fileURLToPath(new URL('./single-node-start.js', import.meta.url)) });
await program.parseAsync(process.argv);
