/**
 * A stand-in for `tributary start --node-id N --etcd …` until the cluster broker exists: drops the cluster
 * options and runs the ordinary single-node `start` with the rest, so dev-cluster's process handling (spawn,
 * listening line, logs, kill, restart, stop) can be tested today against real brokers. Each broker it starts is
 * its own one-node cluster.
 */
import { main } from '../../src/cli/main.js';

const CLUSTER_OPTIONS = new Set(['--node-id', '--etcd', '--etcd-prefix']);
const args = process.argv.slice(2);
const kept: string[] = [];
for (let i = 0; i < args.length; i++) {
  if (CLUSTER_OPTIONS.has(args[i]!)) i++;
  else kept.push(args[i]!);
}
main([process.argv[0]!, process.argv[1]!, ...kept]).catch((err: unknown) => {
  console.error(`tributary: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
