/**
 * `tributary cluster [status]`: the cluster at a glance — id, controller, brokers, and the partitions that need
 * attention (under-replicated: ISR smaller than the replicas; offline: no leader; under min ISR: fewer in-sync
 * replicas than the topic's min.insync.replicas, so acks=all produces fail). Read from DescribeCluster,
 * Metadata and DescribeConfigs, so it works against any Kafka.
 */
import type { Command } from 'commander';
import type { Admin, ClusterDescription, TopicDescription } from '../client/admin.js';
import { formatTable } from '../util/format-table.js';
import { action, addClientFlags, type ClientFlags } from './common.js';
import { withAdmin } from './topics-common.js';

export type PartitionProblem = 'offline' | 'under-replicated' | 'under-min-isr';

export interface ProblemPartition {
  topic: string;
  partition: number;
  leader: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  minIsr: number | null;
  problems: PartitionProblem[];
}

export interface ClusterStatus {
  clusterId: string | null;
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  partitions: {
    total: number;
    underReplicated: number;
    offline: number;
    /** null when the topics' min.insync.replicas could not be read. */
    underMinIsr: number | null;
  };
  problems: ProblemPartition[];
}

/** The status from what the admin client reports; `minIsr` maps topic → min.insync.replicas (absent: unknown). */
export function clusterStatus(cluster: ClusterDescription, topics: TopicDescription[], minIsr: Map<string, number> | null): ClusterStatus {
  let total = 0;
  let underReplicated = 0;
  let offline = 0;
  let underMinIsr = 0;
  const problems: ProblemPartition[] = [];
  for (const t of topics) {
    const min = minIsr?.get(t.name) ?? null;
    for (const p of t.partitions) {
      total++;
      const found: PartitionProblem[] = [];
      if (p.leader < 0) {
        offline++;
        found.push('offline');
      }
      if (p.isr.length < p.replicas.length) {
        underReplicated++;
        found.push('under-replicated');
      }
      if (min !== null && p.isr.length < min) {
        underMinIsr++;
        found.push('under-min-isr');
      }
      if (found.length > 0) {
        problems.push({ topic: t.name, partition: p.partition, leader: p.leader, replicas: p.replicas, isr: p.isr, offlineReplicas: p.offlineReplicas, minIsr: min, problems: found });
      }
    }
  }
  return {
    clusterId: cluster.clusterId,
    controllerId: cluster.controllerId,
    brokers: cluster.brokers,
    partitions: { total, underReplicated, offline, underMinIsr: minIsr === null ? null : underMinIsr },
    problems,
  };
}

export function formatClusterStatus(s: ClusterStatus): string {
  const out: string[] = [];
  out.push(`Cluster id: ${s.clusterId ?? '(none)'}`);
  out.push(`Controller: ${s.controllerId >= 0 ? s.controllerId : 'none'}`);
  out.push(`Brokers: ${s.brokers.length}`);
  out.push(formatTable(['ID', 'HOST:PORT', 'RACK'], s.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`, b.rack ?? '-'])).trimEnd().replace(/^/gm, '  '));
  const p = s.partitions;
  out.push(`Partitions: ${p.total} total, ${p.underReplicated} under-replicated, ${p.offline} offline, ${p.underMinIsr ?? 'unknown'} under min ISR`);
  if (s.problems.length > 0) {
    const list = (ids: number[]): string => (ids.length > 0 ? ids.join(',') : '-');
    out.push(formatTable(['TOPIC', 'PARTITION', 'LEADER', 'REPLICAS', 'ISR', 'MIN-ISR', 'PROBLEMS'], s.problems.map((q) => [
      q.topic, q.partition, q.leader >= 0 ? q.leader : 'none', list(q.replicas), list(q.isr), q.minIsr ?? '-', q.problems.join(','),
    ])).trimEnd().replace(/^/gm, '  '));
  }
  return out.join('\n') + '\n';
}

/** Every topic's min.insync.replicas, or null when the broker would not say (e.g. no DescribeConfigs rights). */
async function minInsyncReplicas(admin: Admin, topics: string[]): Promise<Map<string, number> | null> {
  if (topics.length === 0) return new Map();
  try {
    const described = await admin.describeConfigs(topics.map((name) => ({ type: 'topic' as const, name })));
    const out = new Map<string, number>();
    described.forEach((d, i) => {
      const value = d.configs.find((c) => c.name === 'min.insync.replicas')?.value;
      if (value !== undefined && value !== null) out.set(topics[i]!, Number(value));
    });
    return out;
  } catch {
    return null;
  }
}

export function registerCluster(program: Command): void {
  const cluster = program
    .command('cluster')
    .description('Cluster status: id, controller, brokers, under-replicated and offline partitions');
  const status = cluster
    .command('status', { isDefault: true })
    .description('Print the cluster id, controller, brokers and the partitions that need attention')
    .option('--json', 'print the status as one JSON document');
  addClientFlags(status)
    .addHelpText('after', `
Examples:
  $ tributary cluster
  $ tributary cluster status --bootstrap-server 127.0.0.1:9092 --json

A partition is under-replicated when its ISR is smaller than its replica set, offline when it has no leader,
under min ISR when its ISR is smaller than the topic's min.insync.replicas (acks=all produces then fail).
Exit status 0 whatever the partitions' state; 1 when the cluster cannot be reached.`)
    .action(action(async (opts: ClientFlags & { json?: boolean }) => {
      const s = await withAdmin(opts, async (admin) => {
        const description = await admin.describeCluster();
        const topics = await admin.describeTopics();
        return clusterStatus(description, topics, await minInsyncReplicas(admin, topics.map((t) => t.name)));
      });
      process.stdout.write(opts.json ? JSON.stringify(s, null, 2) + '\n' : formatClusterStatus(s));
    }));
}
