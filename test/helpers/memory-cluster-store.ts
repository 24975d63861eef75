/**
 * An in-memory ControllerStore with etcd's semantics where the controller depends on them: casPartitions is
 * all-or-nothing, compares every change's partitionEpoch and the controller epoch, and image listeners hear of a
 * change asynchronously (as a watch event arrives after the write returns). Stand-in until the controller tests
 * run against EtcdClusterStore.
 */
import type { ControllerStore } from '../../src/cluster/controller.js';
import type { BrokerRegistration, MetadataImage, PartitionChange, PartitionState, TopicImage } from '../../src/cluster/metadata.js';

export class MemoryClusterStore implements ControllerStore {
  private current: MetadataImage;
  private readonly listeners = new Set<(image: MetadataImage, previous: MetadataImage) => void>();
  /** Every casPartitions call and its outcome, for assertions. */
  readonly writes: Array<{ changes: PartitionChange[]; controllerEpoch: number | undefined; ok: boolean }> = [];
  private nextBrokerEpoch = 1;
  /** What readBrokerIncarnations answers; writeBrokerIncarnations replaces it. */
  incarnations = new Map<number, string>();
  /** Runs before a casPartitions compares (a test's concurrent writer slips in here). */
  beforeCas: ((changes: PartitionChange[]) => void) | null = null;

  constructor(clusterId = 'test-cluster') {
    this.current = { clusterId, controller: null, brokers: new Map(), topics: new Map(), brokerConfigs: new Map(), revision: 1 };
  }

  image(): MetadataImage {
    return this.current;
  }

  onImage(cb: (image: MetadataImage, previous: MetadataImage) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  async casPartitions(changes: PartitionChange[], controllerEpoch?: number): Promise<boolean> {
    await Promise.resolve();
    this.beforeCas?.(changes);
    const ok = this.check(changes, controllerEpoch);
    this.writes.push({ changes, controllerEpoch, ok });
    if (!ok) return false;
    const topics = new Map(this.current.topics);
    for (const c of changes) {
      const t = topics.get(c.topic)!;
      const partitions = [...t.partitions];
      partitions[c.partition] = c.next;
      topics.set(c.topic, { ...t, partitions });
    }
    this.publish({ ...this.current, topics });
    return true;
  }

  async readBrokerIncarnations(): Promise<ReadonlyMap<number, string>> {
    await Promise.resolve();
    return new Map(this.incarnations);
  }

  async writeBrokerIncarnations(incarnations: ReadonlyMap<number, string>, controllerEpoch: number): Promise<boolean> {
    await Promise.resolve();
    if (this.current.controller?.epoch !== controllerEpoch) return false;
    this.incarnations = new Map(incarnations);
    return true;
  }

  private check(changes: PartitionChange[], controllerEpoch: number | undefined): boolean {
    if (controllerEpoch !== undefined && this.current.controller?.epoch !== controllerEpoch) return false;
    for (const c of changes) {
      const state = this.current.topics.get(c.topic)?.partitions[c.partition];
      if (!state || state.partitionEpoch !== c.expectedPartitionEpoch) return false;
    }
    return true;
  }

  // ---- test controls: what brokers, the election and partition leaders would write to etcd ----

  setController(nodeId: number, epoch: number): void {
    this.publish({ ...this.current, controller: { nodeId, epoch } });
  }

  registerBroker(nodeId: number, rack: string | null = null): void {
    const reg: BrokerRegistration = { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack, incarnationId: `inc-${nodeId}-${this.nextBrokerEpoch}`, brokerEpoch: this.nextBrokerEpoch++, leaseId: '0', shuttingDown: false };
    const brokers = new Map(this.current.brokers);
    brokers.set(nodeId, reg);
    this.publish({ ...this.current, brokers });
  }

  /** The broker's lease expired: its registration key is gone. */
  expireBroker(nodeId: number): void {
    const brokers = new Map(this.current.brokers);
    brokers.delete(nodeId);
    this.publish({ ...this.current, brokers });
  }

  /** A restart seen as one change: the lease expired and the broker registered again before the watch reported. */
  restartBroker(nodeId: number): void {
    const b = this.current.brokers.get(nodeId)!;
    const brokers = new Map(this.current.brokers);
    brokers.set(nodeId, { ...b, incarnationId: `inc-${nodeId}-${this.nextBrokerEpoch}`, brokerEpoch: this.nextBrokerEpoch++, leaseId: '0', shuttingDown: false });
    this.publish({ ...this.current, brokers });
  }

  /** The same process registered again after losing its lease (etcd was down): a new broker epoch, the same incarnation. */
  reregisterBroker(nodeId: number): void {
    const b = this.current.brokers.get(nodeId)!;
    const brokers = new Map(this.current.brokers);
    brokers.set(nodeId, { ...b, brokerEpoch: this.nextBrokerEpoch++, shuttingDown: false });
    this.publish({ ...this.current, brokers });
  }

  setShuttingDown(nodeId: number): void {
    const b = this.current.brokers.get(nodeId)!;
    const brokers = new Map(this.current.brokers);
    brokers.set(nodeId, { ...b, shuttingDown: true });
    this.publish({ ...this.current, brokers });
  }

  putTopic(name: string, partitions: PartitionState[], config: Record<string, string> = {}): void {
    const topics = new Map(this.current.topics);
    const topic: TopicImage = { name, topicId: `id-${name}`, config, partitions };
    topics.set(name, topic);
    this.publish({ ...this.current, topics });
  }

  /** Overwrites a partition without compare (a leader's ISR change, written here directly). */
  setPartition(topic: string, partition: number, state: PartitionState): void {
    const t = this.current.topics.get(topic)!;
    const partitions = [...t.partitions];
    partitions[partition] = state;
    const topics = new Map(this.current.topics);
    topics.set(topic, { ...t, partitions });
    this.publish({ ...this.current, topics });
  }

  partition(topic: string, partition: number): PartitionState {
    return this.current.topics.get(topic)!.partitions[partition]!;
  }

  /** Resolves with the first image (the current one included) that satisfies `pred`; rejects after `ms`. */
  waitFor(pred: (image: MetadataImage) => boolean, ms = 2_000): Promise<MetadataImage> {
    if (pred(this.current)) return Promise.resolve(this.current);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`image condition not met within ${ms} ms`));
      }, ms);
      // Judged on the newest image: events queued before a change may still be on their way.
      const off = this.onImage(() => {
        const image = this.current;
        if (!pred(image)) return;
        clearTimeout(timer);
        off();
        resolve(image);
      });
    });
  }

  private publish(image: MetadataImage): void {
    const previous = this.current;
    this.current = { ...image, revision: previous.revision + 1 };
    const now = this.current;
    // A watch event arrives after the write that caused it returns, and only to watchers already there.
    const listeners = [...this.listeners];
    setImmediate(() => {
      for (const cb of listeners) if (this.listeners.has(cb)) cb(now, previous);
    });
  }
}
