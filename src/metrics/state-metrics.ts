/**
 * The broker's state as Prometheus metrics, computed when scraped (not on the request path): logs, replicas,
 * controller, topics and partitions (kafka_exporter's names), groups and their lag, transactions. Registered by
 * BrokerMetrics (metrics/broker-metrics.ts) on the broker's registry.
 *
 * Every value is read from in-memory state at scrape time (no disk reads): the logs' offsets and segment sizes,
 * the ReplicaManager's partition states, the etcd image this broker applied, the coordinators' groups, offsets
 * and transactions. The coordinators and the ReplicaManager keep plain-number counters (rebalances, ISR changes,
 * completed transactions) that the counters here report; those layers import nothing of prom-client.
 *
 * Gauges of one family are filled together by the first of them a scrape collects (prom-client collects every
 * metric of a scrape in one synchronous pass), so each piece of state is walked once per scrape. Labels: topic,
 * partition (a number), consumergroup, as the JMX exporter's Kafka config and kafka_exporter name them.
 *
 * Which broker reports what (in a cluster every broker is scraped; a single node is its own controller and
 * leads every partition):
 * - kafka_log_log_*: every replica this broker hosts (leader or follower), as Kafka's Log MBeans.
 * - kafka_server_replicamanager_*: this broker's replicas; under-replicated / under-min-ISR counted where led.
 *   offlinereplicacount is Kafka's replicas on failed log dirs: always 0 (one data dir, no dir failover).
 * - kafka_controller_kafkacontroller_*: non-zero only on the active controller (summing over brokers is right).
 * - kafka_brokers, kafka_topic_partitions: the cluster's view, the same on every broker.
 * - kafka_topic_partition_*: partitions this broker leads; the controller adds partitions without a leader
 *   (leader -1, no offsets), so across the brokers every partition shows once.
 * - kafka_consumergroup_*: groups this broker coordinates. current_offset for every committed offset; lag (the
 *   partition's high watermark minus the committed offset) only where this broker has the partition's log (led or
 *   followed here; a follower's high watermark trails the leader's by one fetch), so in a cluster a group's lag
 *   for partitions held elsewhere is not reported by any broker.
 */
import { Counter, Gauge, type Registry, type RegistryContentType } from 'prom-client';
import type { BrokerContext } from '../server/broker-context.js';
import { ClusterMode } from '../server/cluster-mode.js';
import { stateOf } from '../coordinator/consumer-group/consumer-group-coordinator.js';
import type { Log } from '../storage/log.js';

const CLASSIC_STATES = ['Empty', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead'] as const;
const CONSUMER_STATES = ['Empty', 'Assigning', 'Reconciling', 'Stable', 'Dead'] as const;

type PartitionLabels = { topic: string; partition: number };

/**
 * `fill` at most once per scrape: the first collect of a family runs it, the others of the same synchronous
 * collection pass find their values set. Reset after the pass (a microtask), so the next scrape fills again.
 */
function oncePerScrape(fill: () => void): () => void {
  let filled = false;
  return () => {
    if (filled) return;
    filled = true;
    queueMicrotask(() => {
      filled = false;
    });
    fill();
  };
}

/** Registers the state metrics on `registry` (Prometheus text or OpenMetrics), read from `ctx` at every scrape. */
export function registerStateMetrics(registry: Registry<RegistryContentType>, ctx: BrokerContext): void {
  const registers = [registry];
  const cluster = ctx.replication instanceof ClusterMode ? ctx.replication : null;
  const isController = (): boolean => (cluster ? cluster.activeController() !== null : true);

  // ---- partitions: logs, replica manager, kafka_exporter's topic family --------------------------------------
  const partitions = oncePerScrape(fillPartitions);
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[], collect: () => void): Gauge<L> =>
    new Gauge<L>({ name, help, labelNames, registers, collect });

  const logSize = gauge('kafka_log_log_size', 'Bytes of the partition\'s log segments on this broker', ['topic', 'partition'], partitions);
  const logStart = gauge('kafka_log_log_logstartoffset', 'The partition log\'s start offset on this broker', ['topic', 'partition'], partitions);
  const logEnd = gauge('kafka_log_log_logendoffset', 'The partition log\'s end offset on this broker (next offset to be written)', ['topic', 'partition'], partitions);
  const logSegments = gauge('kafka_log_log_numlogsegments', 'Segments of the partition\'s log on this broker', ['topic', 'partition'], partitions);
  const leaderCount = gauge('kafka_server_replicamanager_leadercount', 'Partitions this broker leads', [], partitions);
  const partitionCount = gauge('kafka_server_replicamanager_partitioncount', 'Partition replicas on this broker', [], partitions);
  const underReplicated = gauge('kafka_server_replicamanager_underreplicatedpartitions', 'Partitions led here whose ISR is smaller than their replica set', [], partitions);
  const underMinIsr = gauge('kafka_server_replicamanager_underminisrpartitioncount', 'Partitions led here whose ISR is smaller than min.insync.replicas', [], partitions);
  const offlineReplicas = gauge('kafka_server_replicamanager_offlinereplicacount', 'Replicas on offline log directories of this broker (one data directory: always 0)', [], partitions);
  const topicPartitions = gauge('kafka_topic_partitions', 'Partitions of the topic', ['topic'], partitions);
  const tpCurrent = gauge('kafka_topic_partition_current_offset', 'The partition\'s newest offset (high watermark), where this broker leads it', ['topic', 'partition'], partitions);
  const tpOldest = gauge('kafka_topic_partition_oldest_offset', 'The partition\'s oldest offset (log start), where this broker leads it', ['topic', 'partition'], partitions);
  const tpLeader = gauge('kafka_topic_partition_leader', 'The partition\'s leader broker id (-1: none)', ['topic', 'partition'], partitions);
  const tpReplicas = gauge('kafka_topic_partition_replicas', 'Replicas of the partition', ['topic', 'partition'], partitions);
  const tpIsr = gauge('kafka_topic_partition_in_sync_replica', 'In-sync replicas of the partition', ['topic', 'partition'], partitions);
  const tpUnder = gauge('kafka_topic_partition_under_replicated_partition', '1 if the partition is under-replicated', ['topic', 'partition'], partitions);
  const partitionGauges = [logSize, logStart, logEnd, logSegments, leaderCount, partitionCount, underReplicated, underMinIsr, offlineReplicas,
    topicPartitions, tpCurrent, tpOldest, tpLeader, tpReplicas, tpIsr, tpUnder];

  function setLog(labels: PartitionLabels, log: Log): void {
    logSize.set(labels, log.size());
    logStart.set(labels, log.logStartOffset);
    logEnd.set(labels, log.logEndOffset);
    logSegments.set(labels, log.segmentCount);
  }

  function setLed(labels: PartitionLabels, log: Log, replicas: number, isr: number, under: boolean): void {
    tpCurrent.set(labels, log.highWatermark);
    tpOldest.set(labels, log.logStartOffset);
    tpLeader.set(labels, ctx.nodeId);
    tpReplicas.set(labels, replicas);
    tpIsr.set(labels, isr);
    tpUnder.set(labels, under ? 1 : 0);
  }

  function fillPartitions(): void {
    for (const g of partitionGauges) g.reset();
    let leaders = 0, hosted = 0, under = 0, underMin = 0;
    const topics = ctx.topics;
    for (const name of topics.names()) topicPartitions.set({ topic: name }, topics.get(name)!.partitions);
    if (cluster) {
      for (const r of cluster.replicas.all()) {
        if (r.role === 'none') continue;
        const log = topics.tryLog(r.topic, r.partition);
        if (!log) continue;
        hosted++;
        // One label object per partition, shared by every gauge (prom-client keeps it by reference, never changes it).
        const labels: PartitionLabels = { topic: r.topic, partition: r.partition };
        setLog(labels, log);
        if (r.role !== 'leader') continue;
        leaders++;
        const s = r.state;
        const isUnder = s.isr.length < s.replicas.length - s.removingReplicas.length;
        if (isUnder) under++;
        if (s.isr.length < log.config.minInsyncReplicas) underMin++;
        setLed(labels, log, s.replicas.length, s.isr.length, isUnder);
      }
      if (cluster.activeController()) {
        for (const t of cluster.metadataImage().topics.values()) {
          t.partitions.forEach((s, partition) => {
            if (s.leader >= 0) return;
            const labels: PartitionLabels = { topic: t.name, partition };
            tpLeader.set(labels, -1);
            tpReplicas.set(labels, s.replicas.length);
            tpIsr.set(labels, s.isr.length);
            tpUnder.set(labels, 1);
          });
        }
      }
    } else {
      for (const name of topics.names()) {
        const count = topics.get(name)!.partitions;
        for (let p = 0; p < count; p++) {
          const log = topics.tryLog(name, p);
          if (!log) continue;
          hosted++;
          leaders++;
          const labels: PartitionLabels = { topic: name, partition: p };
          setLog(labels, log);
          // One replica, always in sync; under min ISR when the topic asks for more than one.
          if (log.config.minInsyncReplicas > 1) underMin++;
          setLed(labels, log, 1, 1, false);
        }
      }
    }
    leaderCount.set(leaders);
    partitionCount.set(hosted);
    underReplicated.set(under);
    underMinIsr.set(underMin);
    offlineReplicas.set(0);
  }

  new Counter({
    name: 'kafka_server_replicamanager_isrshrinks_total', help: 'ISR shrinks of partitions led by this broker', registers,
    collect() {
      this.reset();
      this.inc(cluster ? cluster.replicas.isrShrinks : 0);
    },
  });
  new Counter({
    name: 'kafka_server_replicamanager_isrexpands_total', help: 'ISR expansions of partitions led by this broker', registers,
    collect() {
      this.reset();
      this.inc(cluster ? cluster.replicas.isrExpands : 0);
    },
  });

  // ---- controller and cluster ------------------------------------------------------------------------------
  const controller = oncePerScrape(fillController);
  const activeController = gauge('kafka_controller_kafkacontroller_activecontrollercount', '1 on the active controller, else 0', [], controller);
  const offlinePartitions = gauge('kafka_controller_kafkacontroller_offlinepartitionscount', 'Partitions without a leader (reported by the active controller)', [], controller);
  const globalTopics = gauge('kafka_controller_kafkacontroller_globaltopiccount', 'Topics in the cluster (reported by the active controller)', [], controller);
  const globalPartitions = gauge('kafka_controller_kafkacontroller_globalpartitioncount', 'Partitions in the cluster (reported by the active controller)', [], controller);
  const brokers = gauge('kafka_brokers', 'Live brokers in the cluster', [], controller);

  function fillController(): void {
    brokers.set(cluster ? cluster.metadataImage().brokers.size : 1);
    const active = isController();
    activeController.set(active ? 1 : 0);
    let topicCount = 0, partitionTotal = 0, offline = 0;
    if (active && cluster) {
      for (const t of cluster.metadataImage().topics.values()) {
        topicCount++;
        partitionTotal += t.partitions.length;
        for (const s of t.partitions) if (s.leader < 0) offline++;
      }
    } else if (active) {
      for (const name of ctx.topics.names()) {
        topicCount++;
        partitionTotal += ctx.topics.get(name)!.partitions;
      }
    }
    offlinePartitions.set(offline);
    globalTopics.set(topicCount);
    globalPartitions.set(partitionTotal);
  }

  // ---- group coordinator -----------------------------------------------------------------------------------
  const groups = oncePerScrape(fillGroups);
  const groupCount = gauge('kafka_server_group_coordinator_metrics_group_count', 'Groups coordinated by this broker, by protocol', ['protocol'], groups);
  const consumerGroupCount = gauge('kafka_server_group_coordinator_metrics_consumer_group_count', 'Consumer (KIP-848) groups coordinated here, by state', ['state'], groups);
  const classicGroupCount = gauge('kafka_server_group_coordinator_metrics_classic_group_count', 'Classic groups coordinated here, by state', ['state'], groups);
  const members = gauge('kafka_consumergroup_members', 'Members of the group', ['consumergroup'], groups);
  const classicByState = new Map<string, number>();
  const consumerByState = new Map<string, number>();

  function fillGroups(): void {
    groupCount.reset();
    members.reset();
    const service = ctx.groups;
    for (const s of CLASSIC_STATES) classicByState.set(s, 0);
    for (const s of CONSUMER_STATES) consumerByState.set(s, 0);
    let classic = 0, consumer = 0;
    for (const g of service.coordinator.allGroups()) {
      // An empty classic group holding a consumer group's offsets is not a group of its own.
      if (g.state === 'Dead' || service.consumerGroups.group(g.groupId)) continue;
      classic++;
      classicByState.set(g.state, classicByState.get(g.state)! + 1);
      members.set({ consumergroup: g.groupId }, g.members.size);
    }
    for (const g of service.consumerGroups.allGroups()) {
      consumer++;
      const state = stateOf(g);
      consumerByState.set(state, consumerByState.get(state)! + 1);
      members.set({ consumergroup: g.groupId }, g.members.size);
    }
    groupCount.set({ protocol: 'classic' }, classic);
    groupCount.set({ protocol: 'consumer' }, consumer);
    for (const [state, n] of classicByState) classicGroupCount.set({ state }, n);
    for (const [state, n] of consumerByState) consumerGroupCount.set({ state }, n);
  }

  new Counter({
    name: 'kafka_server_group_coordinator_metrics_rebalance_total', help: 'Rebalances on this coordinator: classic generation bumps, consumer group epoch bumps', labelNames: ['protocol'], registers,
    collect() {
      this.reset();
      this.inc({ protocol: 'classic' }, ctx.groups.coordinator.rebalances);
      this.inc({ protocol: 'consumer' }, ctx.groups.consumerGroups.rebalances);
    },
  });

  // ---- committed offsets and lag ---------------------------------------------------------------------------
  const offsets = oncePerScrape(fillOffsets);
  const lag = gauge('kafka_consumergroup_lag', 'High watermark minus committed offset, for partitions whose log is on this broker', ['consumergroup', 'topic', 'partition'], offsets);
  const lagSum = gauge('kafka_consumergroup_lag_sum', 'kafka_consumergroup_lag summed over the topic\'s partitions', ['consumergroup', 'topic'], offsets);
  const current = gauge('kafka_consumergroup_current_offset', 'The group\'s committed offset of the partition', ['consumergroup', 'topic', 'partition'], offsets);
  const currentSum = gauge('kafka_consumergroup_current_offset_sum', 'kafka_consumergroup_current_offset summed over the topic\'s partitions', ['consumergroup', 'topic'], offsets);
  // Per group, reused: topic → sums (a group's offsets are keyed by topic and partition, not grouped by topic).
  const currentByTopic = new Map<string, number>();
  const lagByTopic = new Map<string, number>();

  function fillOffsets(): void {
    lag.reset();
    lagSum.reset();
    current.reset();
    currentSum.reset();
    const topics = ctx.topics;
    for (const g of ctx.groups.coordinator.allGroups()) {
      if (g.offsets.size === 0) continue;
      const group = g.groupId;
      currentByTopic.clear();
      lagByTopic.clear();
      for (const c of g.offsets.values()) {
        const committed = c.value.offset;
        if (committed < 0) continue;
        const labels = { consumergroup: group, topic: c.topic, partition: c.partition };
        current.set(labels, committed);
        currentByTopic.set(c.topic, (currentByTopic.get(c.topic) ?? 0) + committed);
        const log = topics.tryLog(c.topic, c.partition);
        if (!log) continue;
        const l = log.highWatermark - committed;
        lag.set(labels, l);
        lagByTopic.set(c.topic, (lagByTopic.get(c.topic) ?? 0) + l);
      }
      for (const [topic, sum] of currentByTopic) currentSum.set({ consumergroup: group, topic }, sum);
      for (const [topic, sum] of lagByTopic) lagSum.set({ consumergroup: group, topic }, sum);
    }
  }

  // ---- transactions ----------------------------------------------------------------------------------------
  new Gauge({
    name: 'kafka_server_transactions_open', help: 'Transactions in flight on this coordinator (Ongoing or Prepare*)', registers,
    collect() {
      this.set(ctx.transactions.coordinator.openTransactionCount());
    },
  });
  new Counter({
    name: 'kafka_server_transactions_committed_total', help: 'Transactions committed on this coordinator', registers,
    collect() {
      this.reset();
      this.inc(ctx.transactions.coordinator.committed);
    },
  });
  new Counter({
    name: 'kafka_server_transactions_aborted_total', help: 'Transactions aborted on this coordinator', registers,
    collect() {
      this.reset();
      this.inc(ctx.transactions.coordinator.aborted);
    },
  });
}
