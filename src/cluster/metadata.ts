/**
 * The cluster's metadata as every broker sees it: the image built from etcd (see docs/CLUSTER.md for the key
 * layout). etcd is the only source of truth; a broker's image lags it by one watch event at most, and every
 * change a broker makes goes through a compare-and-swap on the key it read, so a stale image can cause a
 * refused write, never a wrong one.
 */

/** Kafka's security protocols (listener.security.protocol.map values). */
export type SecurityProtocol = 'PLAINTEXT' | 'SSL' | 'SASL_PLAINTEXT' | 'SASL_SSL';
export const SECURITY_PROTOCOLS: readonly SecurityProtocol[] = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'];

/** One listener endpoint: its name, where it is, and its security protocol (see src/server/listeners.ts). */
export interface ListenerEndpoint {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly securityProtocol: SecurityProtocol;
}

/** A live broker: its registration key is bound to its etcd lease, so it disappears when the broker dies. */
export interface BrokerRegistration {
  readonly nodeId: number;
  /** The advertised listener clients and other brokers connect to. */
  readonly host: string;
  readonly port: number;
  readonly rack: string | null;
  /** Every advertised listener (absent in a registration written before several listeners existed). */
  readonly listeners?: readonly ListenerEndpoint[];
  /** Random per process start: tells a restarted broker from its previous life. */
  readonly incarnationId: string;
  /** The etcd create revision of the registration key: grows with every registration (Kafka's broker epoch). */
  readonly brokerEpoch: number;
  /** The etcd lease the registration is bound to (decimal; '0' when none): revoking it unregisters the broker. */
  readonly leaseId: string;
  /** Set by a broker that is shutting down cleanly: the controller moves its leadership away (controlled shutdown). */
  readonly shuttingDown: boolean;
}

/** Leader and replica set of one partition, as Kafka's PartitionRecord / PartitionChangeRecord carry them. */
export interface PartitionState {
  /** Replica assignment, preferred leader first. */
  readonly replicas: readonly number[];
  /** In-sync replicas. Never empty: when the last in-sync replica dies it stays here and the leader is -1. */
  readonly isr: readonly number[];
  /** -1 when no in-sync replica is alive (the partition is offline). */
  readonly leader: number;
  /** Bumped by every leader change; stamped into the batches the leader appends. */
  readonly leaderEpoch: number;
  /** Bumped by every change of this state (leader, ISR, replicas): the compare-and-swap version. */
  readonly partitionEpoch: number;
  /** During a reassignment (KIP-455): replicas being added / removed; both empty otherwise. */
  readonly addingReplicas: readonly number[];
  readonly removingReplicas: readonly number[];
}

export interface TopicImage {
  readonly name: string;
  readonly topicId: string;
  /** Topic config overrides (Kafka's topic-level keys). */
  readonly config: Readonly<Record<string, string>>;
  /** Indexed by partition number. */
  readonly partitions: readonly PartitionState[];
}

export interface ControllerInfo {
  readonly nodeId: number;
  /** Grows with every election; a write made as controller is fenced by it. */
  readonly epoch: number;
}

export interface MetadataImage {
  readonly clusterId: string;
  readonly controller: ControllerInfo | null;
  /** Live (registered) brokers by node id. */
  readonly brokers: ReadonlyMap<number, BrokerRegistration>;
  readonly topics: ReadonlyMap<string, TopicImage>;
  /** Dynamic broker configs: key 'default' for the cluster-wide ones, else the node id as a string. */
  readonly brokerConfigs: ReadonlyMap<string, Readonly<Record<string, string>>>;
  /** The etcd revision this image reflects. */
  readonly revision: number;
}

/** One partition's state change, compare-and-swapped on the partition epoch the writer read. */
export interface PartitionChange {
  readonly topic: string;
  readonly partition: number;
  /** The partitionEpoch the writer based `next` on; the write fails if etcd holds another. */
  readonly expectedPartitionEpoch: number;
  readonly next: PartitionState;
}

export const NO_LEADER = -1;
