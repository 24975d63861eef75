// Interactive queries across instances (Kafka Streams' StreamsMetadataState): which instance — named by its
// application.server, "host:port" — holds which store partitions. Every assignment of the streams assignor
// (assignor.ts, user data version 2) carries the cluster-wide maps host → active source partitions and host →
// standby source partitions; these functions turn them into Kafka's StreamsMetadata and KeyQueryMetadata.
import { partitionForKey } from '../client/partitioner.js';
import type { TopicPartition } from '../client/consumer.js';
import { StreamsException } from './config.js';
import type { Serializer } from './serdes.js';
import type { StreamPartitioner } from './topology.js';
import type { PartitionsByHost } from './assignor.js';

/** Kafka's HostInfo: an instance's application.server. */
export class HostInfo {
  constructor(readonly host: string, readonly port: number) {}

  /** "host:port" (an IPv6 host in brackets) → HostInfo; throws StreamsException on anything else. */
  static parse(endpoint: string): HostInfo {
    const m = /^(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(endpoint);
    const port = m ? Number(m[2]) : NaN;
    if (!m || port > 65535) throw new StreamsException(`application.server must be "host:port", got ${JSON.stringify(endpoint)}`);
    return new HostInfo(m[1].startsWith('[') ? m[1].slice(1, -1) : m[1], port);
  }

  /** Kafka's HostInfo.unavailable(): host "unavailable", port -1. */
  static unavailable(): HostInfo {
    return new HostInfo('unavailable', -1);
  }

  toString(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  equals(other: HostInfo): boolean {
    return this.host === other.host && this.port === other.port;
  }

  toJSON(): { host: string; port: number } {
    return { host: this.host, port: this.port };
  }
}

/** Kafka's StreamsMetadata: one instance, the stores it hosts and the source partitions of its tasks. */
export interface StreamsMetadata {
  readonly hostInfo: HostInfo;
  /** Stores of its active tasks (global stores are on every instance), sorted. */
  readonly stateStoreNames: string[];
  readonly topicPartitions: TopicPartition[];
  readonly standbyStateStoreNames: string[];
  readonly standbyTopicPartitions: TopicPartition[];
}

/** Kafka's KeyQueryMetadata: where a key's partition of a store is active, and its standbys. */
export interface KeyQueryMetadata {
  readonly activeHost: HostInfo;
  readonly standbyHosts: HostInfo[];
  /** The key's partition of the store's source topic(s); -1 when not available. */
  readonly partition: number;
}

/** Kafka's KeyQueryMetadata.NOT_AVAILABLE: before the first assignment, or for an unknown store. */
export const NOT_AVAILABLE: KeyQueryMetadata = Object.freeze({ activeHost: HostInfo.unavailable(), standbyHosts: [], partition: -1 });

/** What the runtime knows: each (non-global) store's source topics, the global stores, partition counts. */
export interface TopologyStores {
  readonly sourceTopicsByStore: ReadonlyMap<string, readonly string[]>;
  readonly globalStores: readonly string[];
  partitionCount(topic: string): number | undefined;
}

const byTp = (a: TopicPartition, b: TopicPartition): number => a.topic.localeCompare(b.topic) || a.partition - b.partition;

function storesOf(tps: readonly TopicPartition[], topology: TopologyStores): string[] {
  const topics = new Set(tps.map((tp) => tp.topic));
  const out: string[] = [];
  for (const [store, sources] of topology.sourceTopicsByStore) if (sources.some((t) => topics.has(t))) out.push(store);
  return out;
}

/** Every instance with an application.server, in host order (Kafka's metadataForAllStreamsClients). */
export function allMetadata(active: PartitionsByHost, standby: PartitionsByHost, topology: TopologyStores): StreamsMetadata[] {
  const hosts = [...new Set([...active.keys(), ...standby.keys()])].sort();
  return hosts.map((host) => {
    const tps = [...(active.get(host) ?? [])].sort(byTp);
    const sbs = [...(standby.get(host) ?? [])].filter((s) => !tps.some((t) => t.topic === s.topic && t.partition === s.partition)).sort(byTp);
    return {
      hostInfo: HostInfo.parse(host),
      stateStoreNames: [...new Set([...storesOf(tps, topology), ...topology.globalStores])].sort(),
      topicPartitions: tps,
      standbyStateStoreNames: storesOf(sbs, topology).sort(),
      standbyTopicPartitions: sbs,
    };
  });
}

/**
 * Where a key of a store lives: its partition by the given serializer and Kafka's default partitioner (murmur2)
 * over the store's source topic with the most partitions — or by the given StreamPartitioner — then the instance
 * whose active task reads that partition and those with a standby of it. A global store is on every instance: the
 * local one answers (partition -1). NOT_AVAILABLE for an unknown store, or while no instance holds the partition.
 */
export function keyMetadata<K>(
  store: string, key: K, how: Serializer<K> | StreamPartitioner<K, unknown>, active: PartitionsByHost, standby: PartitionsByHost,
  topology: TopologyStores, local: HostInfo | null,
): KeyQueryMetadata {
  if (topology.globalStores.includes(store)) return local === null ? NOT_AVAILABLE : { activeHost: local, standbyHosts: [], partition: -1 };
  const sources = topology.sourceTopicsByStore.get(store);
  if (!sources || sources.length === 0) return NOT_AVAILABLE;
  let topic = sources[0];
  for (const t of sources) if ((topology.partitionCount(t) ?? 0) > (topology.partitionCount(topic) ?? 0)) topic = t;
  const n = topology.partitionCount(topic);
  if (n === undefined || n <= 0) return NOT_AVAILABLE;
  let partition: number | null;
  if (typeof how === 'function') {
    partition = how(topic, key, null, n);
  } else {
    const bytes = how.serialize(topic, key);
    if (bytes === null) throw new StreamsException(`the key serializer turned the key of store ${store} into null: a key query needs its bytes`);
    partition = partitionForKey(bytes, n);
  }
  if (partition === null || partition < 0 || partition >= n) return NOT_AVAILABLE;
  const holds = (tps: readonly TopicPartition[] | undefined): boolean => (tps ?? []).some((tp) => tp.partition === partition && sources.includes(tp.topic));
  const activeHost = [...active.keys()].sort().find((h) => holds(active.get(h)));
  if (activeHost === undefined) return NOT_AVAILABLE;
  const standbyHosts = [...standby.keys()].sort().filter((h) => h !== activeHost && holds(standby.get(h))).map((h) => HostInfo.parse(h));
  return { activeHost: HostInfo.parse(activeHost), standbyHosts, partition };
}

/** As Kafka spells it: KeyQueryMetadata.NOT_AVAILABLE. */
export const KeyQueryMetadata = { NOT_AVAILABLE } as const;
