/**
 * CoordinatorPartitions: every partition operation the coordinators need, and nothing else — the seam between
 * the coordinators and the logs. The coordinators (their runtime over `__consumer_offsets` and
 * `__transaction_state`, and the transaction marker writer) reach partitions only through it; the broker
 * injects the implementation (server/local-partitions.ts, over its TopicManager and Logs). A lint rule keeps
 * src/coordinator from importing src/server or the storage layer's logs.
 *
 * This is where the cluster's partition leadership goes: a coordinator runs for the internal-topic partitions
 * this broker leads, so an implementation for the cluster appends as the partition's leader (refusing with
 * NOT_LEADER_OR_FOLLOWER once it is not) and resolves an append when it is committed rather than fsynced,
 * without the coordinators changing. On a single node this broker leads every partition at leader epoch 0.
 *
 * Concurrency contract: single JS thread. `append` and `writeTxnMarker` apply their write synchronously,
 * before returning (so the log order is the call order), and their promise says when the write is durable.
 */

/** A topic as the metadata image knows it now. */
export interface PartitionsTopic {
  readonly topicId: string;
  readonly partitions: number;
}

/** The COMMIT/ABORT control record a transaction coordinator writes to a partition of a transaction. */
export interface TxnMarker {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
  timestamp: number;
}

export interface CoordinatorPartitions {
  /** The topic's id and partition count, undefined if it does not exist. */
  topic(name: string): PartitionsTopic | undefined;
  /** Every topic's name (KIP-848 regex subscriptions are resolved against them). */
  topicNames(): Iterable<string>;
  /** A number that changes whenever a topic is created or deleted (regex matches are cached per version). */
  topicNamesVersion(): number;
  /** Creates an internal topic holding coordinator state (TOPIC_ALREADY_EXISTS if it exists). */
  createTopic(name: string, partitions: number, config: Record<string, string>): Promise<void>;
  /** The partition's log start and end offsets, undefined if no such partition is hosted here. */
  offsets(topic: string, partition: number): { logStartOffset: number; logEndOffset: number } | undefined;
  /**
   * Raw record batches from `offset` up to the log end: at most `maxBytes`, but always at least one whole batch
   * if there is one (coordinators replay their partitions with it).
   */
  read(topic: string, partition: number, offset: number, maxBytes: number): Buffer;
  /** The base sequence for the producer's next batch on the partition: its last batch's next, 0 in a new epoch. */
  nextSequence(topic: string, partition: number, producerId: bigint, producerEpoch: number): number;
  /**
   * Appends one v2 record batch (written now, stamped with its offsets) and resolves once it is durable;
   * UNKNOWN_TOPIC_OR_PARTITION if the partition is not hosted here.
   */
  append(topic: string, partition: number, batch: Buffer, recordCount: number): Promise<void>;
  /**
   * Appends a transaction marker (written now) and resolves once it is durable; undefined, writing nothing, if
   * the partition no longer exists.
   */
  writeTxnMarker(topic: string, partition: number, marker: TxnMarker): Promise<void> | undefined;
}
