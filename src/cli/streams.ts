/**
 * `tributary streams …`: what Kafka Streams applications run. `describe` prints a topology in Kafka's
 * TopologyDescription format, from a module (--module, nothing started) or from what a KafkaStreams instance
 * published on start to __tributary_streams_topologies; `list` lists the applications published there, joined
 * with their consumer group (state, members, lag).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { formatTable } from '../util/format-table.js';
import { action, addClientFlags, clientOptions, UsageError, type ClientFlags } from './common.js';
import { withAdmin } from './topics-common.js';
import { readPublishedTopologies, streamsApplications, TOPOLOGIES_TOPIC } from '../streams/topology-registry.js';

interface DescribeFlags extends ClientFlags {
  module?: string;
  export?: string;
  json?: boolean;
}

interface Describable {
  describe(): { toString(): string };
}

const isDescribable = (v: unknown): v is Describable => typeof v === 'object' && v !== null && typeof (v as Describable).describe === 'function';
const isBuilder = (v: unknown): v is { build(): unknown } => typeof v === 'object' && v !== null && typeof (v as { build?: unknown }).build === 'function' && !isDescribable(v);

/** A Topology from an export: a Topology, a StreamsBuilder (built), or a function returning either (awaited). */
async function topologyFrom(value: unknown, name: string): Promise<Describable> {
  let v = value;
  if (typeof v === 'function') v = await (v as () => unknown)();
  if (isBuilder(v)) v = v.build();
  if (!isDescribable(v)) throw new UsageError(`export '${name}' is not a Topology, a StreamsBuilder or a function returning one`);
  return v;
}

/** Loads the module (which must not start anything) and finds its topology. */
export async function describeModule(path: string, exportName?: string): Promise<string> {
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(path)).href) as Record<string, unknown>;
  } catch (err) {
    throw new UsageError(`cannot load module ${path}: ${(err as Error).message} (give a compiled .js/.mjs file exporting a Topology or a function returning one)`);
  }
  if (exportName !== undefined) {
    if (!(exportName in mod)) throw new UsageError(`module ${path} has no export '${exportName}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
    return (await topologyFrom(mod[exportName], exportName)).describe().toString();
  }
  for (const name of ['default', 'topology', 'buildTopology']) {
    if (mod[name] !== undefined) return (await topologyFrom(mod[name], name)).describe().toString();
  }
  const candidates = Object.entries(mod).filter(([, v]) => isDescribable(v) || isBuilder(v));
  if (candidates.length === 1) return (await topologyFrom(candidates[0]![1], candidates[0]![0])).describe().toString();
  throw new UsageError(`module ${path} exports no topology: export default (or 'topology') a Topology or a function returning one, or name the export with --export`);
}

const time = (ms: number): string => (ms > 0 ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-');

export function registerStreams(program: Command): void {
  const streams = program.command('streams').description('Describe and list Kafka Streams applications (their topologies)');
  streams.addHelpText('after', `
Examples:
  $ tributary streams list
  $ tributary streams describe page-views-app
  $ tributary streams describe --module ./dist/app.js`);

  const describe = streams
    .command('describe [application.id]')
    .description(`Print a topology as Kafka's TopologyDescription: from a module, or as a running (or stopped) KafkaStreams published it to ${TOPOLOGIES_TOPIC}`)
    .option('--module <file>', 'a JavaScript module exporting a Topology, a StreamsBuilder or a function returning one (loaded, not started)')
    .option('--export <name>', 'with --module: the export to describe (default: default, topology or buildTopology, or the only one)')
    .option('--json', 'with an application.id: the whole published record (client id, instance, start time, state, description) as JSON');
  addClientFlags(describe)
    .addHelpText('after', `
Examples:
  $ tributary streams describe page-views-app -b 127.0.0.1:9092
  $ tributary streams describe page-views-app --json
  $ tributary streams describe --module ./dist/app.js --export buildTopology`)
    .action(action(async (applicationId: string | undefined, opts: DescribeFlags) => {
      if (opts.module !== undefined) {
        if (applicationId !== undefined) throw new UsageError('give either an application.id or --module, not both');
        process.stdout.write(await describeModule(opts.module, opts.export) + '\n');
        return;
      }
      if (applicationId === undefined) throw new UsageError('name an application.id (see `tributary streams list`) or give --module <file>');
      if (opts.export !== undefined) throw new UsageError('--export goes with --module');
      const published = await withAdmin(opts, (admin) => readPublishedTopologies(admin, opts.bootstrapServer, { clientOptions: clientOptions(opts) }));
      if (published === null) throw new Error(`no streams application has published its topology here (${TOPOLOGIES_TOPIC} does not exist): start a KafkaStreams application, or describe its code with --module`);
      const app = published.find((p) => p.applicationId === applicationId);
      if (app === undefined) {
        const known = published.map((p) => p.applicationId);
        throw new Error(`no published topology for application.id '${applicationId}'${known.length ? ` (published: ${known.join(', ')})` : ''}`);
      }
      process.stdout.write(opts.json ? JSON.stringify(app, null, 2) + '\n' : app.description + '\n');
    }));

  const list = streams
    .command('list')
    .description(`List the streams applications published to ${TOPOLOGIES_TOPIC}, with their consumer group's state, members and lag`);
  addClientFlags(list)
    .addHelpText('after', `
Examples:
  $ tributary streams list
  $ tributary streams list -b 127.0.0.1:9092`)
    .action(action(async (opts: ClientFlags) => {
      const apps = await withAdmin(opts, (admin) => streamsApplications(admin, opts.bootstrapServer, { clientOptions: clientOptions(opts) }));
      if (apps === null || apps.length === 0) {
        process.stderr.write('No streams applications have published a topology here.\n');
        return;
      }
      process.stdout.write(formatTable(
        ['APPLICATION-ID', 'STATE', 'GROUP-STATE', 'MEMBERS', 'LAG', 'CLIENT-ID', 'INSTANCE', 'STARTED', 'UPDATED'],
        apps.map((a) => [a.applicationId, a.state, a.groupState, String(a.members), a.lag === null ? '-' : String(a.lag), a.clientId, a.instance, time(a.startTime), time(a.updateTime)]),
      ));
    }));
}
