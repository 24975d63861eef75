// The Topology: a graph of source, processor and sink nodes with their state stores. The DSL (StreamsBuilder)
// writes one; it can also be written by hand (addSource/addProcessor/addSink/addStateStore). Sub-topologies are
// the graph's connected components once repartition topics cut it (a sink writes one, a source of another
// sub-topology reads it), stores joining the processors that share them; each runs as one task per input
// partition. describe() prints it as Kafka Streams' TopologyDescription does.
import type { Processor, ProcessorSupplier } from './processor.js';
import type { Headers } from './record.js';
import type { Serde } from './serdes.js';
import { TopologyException, type StreamsProps, type TimestampExtractor } from './config.js';
import type { StateStore, StoreBuilder } from './state/stores.js';

/** Picks an output topic per record. */
export type TopicNameExtractor<K, V> = (key: K, value: V, recordContext: { topic: string | null; headers: Headers; timestamp: number }) => string;

/** Picks the partition of an output record (null: the producer's default key hashing). */
export type StreamPartitioner<K, V> = (topic: string, key: K, value: V, numPartitions: number) => number | null;

export interface SourceOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  timestampExtractor?: TimestampExtractor;
  /** @internal wraps the (resolved) value serde: a repartition topic of KTable changes. */
  valueSerdeWrap?: (inner: Serde<any>) => Serde<any>;
}

export interface SinkOptions<K, V> {
  keySerde?: Serde<K>;
  valueSerde?: Serde<V>;
  partitioner?: StreamPartitioner<K, V>;
  /** @internal as SourceOptions.valueSerdeWrap. */
  valueSerdeWrap?: (inner: Serde<any>) => Serde<any>;
}

export interface SourceNode {
  readonly kind: 'source';
  readonly name: string;
  readonly topics: readonly string[];
  readonly options: SourceOptions<any, any>;
  readonly children: string[];
}

export interface ProcessorNode {
  readonly kind: 'processor';
  readonly name: string;
  readonly supplier: ProcessorSupplier<any, any, any, any>;
  readonly parents: string[];
  readonly children: string[];
  readonly stores: string[];
}

export interface SinkNode {
  readonly kind: 'sink';
  readonly name: string;
  readonly topic: string | TopicNameExtractor<any, any>;
  readonly options: SinkOptions<any, any>;
  readonly parents: string[];
  readonly children: string[];
}

export type TopologyNode = SourceNode | ProcessorNode | SinkNode;

export interface GlobalStoreDef {
  readonly store: StoreBuilder;
  readonly sourceName: string;
  readonly processorName: string;
}

/** One sub-topology as a task runs it (internal topic names decorated with the application id). */
export interface SubtopologyPlan {
  readonly id: number;
  readonly nodes: readonly TopologyNode[];
  /** Decorated topic → the source node reading it. */
  readonly sourcesByTopic: ReadonlyMap<string, SourceNode>;
  readonly stores: ReadonlyArray<{ builder: StoreBuilder; changelogTopic: string | null }>;
  readonly global: boolean;
  /** For a global sub-topology: the store it fills. */
  readonly globalStore?: string;
}

export interface TopologyPlan {
  readonly applicationId: string;
  readonly subtopologies: readonly SubtopologyPlan[];
  /** Topics the application reads that no part of it writes (user input topics, decorated names). */
  readonly sourceTopics: readonly string[];
  readonly repartitionTopics: readonly string[];
  readonly changelogTopics: readonly string[];
  /** Partition counts configured for repartition topics (decorated names); the others follow their inputs. */
  readonly repartitionPartitions: ReadonlyMap<string, number>;
  /** Decorates a topic name as it is used by the running application. */
  decorate(topic: string): string;
}

export interface NodeDescription {
  readonly name: string;
  readonly type: 'Source' | 'Processor' | 'Sink';
  readonly topics?: readonly string[];
  readonly topic?: string;
  readonly stores?: readonly string[];
  readonly predecessors: readonly string[];
  readonly successors: readonly string[];
}

export interface SubtopologyDescription {
  readonly id: number;
  readonly nodes: readonly NodeDescription[];
  /** Set for a global store's sub-topology (it generates no tasks). */
  readonly globalStore?: string;
}

export class TopologyDescription {
  constructor(readonly subtopologies: readonly SubtopologyDescription[]) {}

  toString(): string {
    const lines = ['Topologies:'];
    for (const s of this.subtopologies) {
      lines.push(s.globalStore !== undefined ? `  Sub-topology: ${s.id} for global store (will not generate tasks)` : `   Sub-topology: ${s.id}`);
      for (const n of s.nodes) {
        if (n.type === 'Source') lines.push(`    Source: ${n.name} (topics: [${n.topics!.join(', ')}])`);
        else if (n.type === 'Sink') lines.push(`    Sink: ${n.name} (${n.topic === undefined ? 'topic extractor' : `topic: ${n.topic}`})`);
        else lines.push(`    Processor: ${n.name} (stores: [${n.stores!.join(', ')}])`);
        if (n.type !== 'Sink') lines.push(`      --> ${n.successors.length ? n.successors.join(', ') : 'none'}`);
        if (n.type !== 'Source') lines.push(`      <-- ${n.predecessors.join(', ')}`);
      }
      lines.push('');
    }
    return lines.join('\n') + '\n';
  }
}

export class Topology {
  private readonly nodes = new Map<string, TopologyNode>();
  private readonly stores = new Map<string, StoreBuilder>();
  private readonly globalStores = new Map<string, GlobalStoreDef>();
  private readonly topicToSource = new Map<string, string>();
  /** Topics the application owns, named without the application id (which prefixes them when it runs). */
  private readonly repartition = new Set<string>();
  /** Partition counts given for repartition topics (Repartitioned.withNumberOfPartitions). */
  private readonly repartitionPartitions = new Map<string, number>();

  addSource<K = unknown, V = unknown>(name: string, topics: string | readonly string[], options: SourceOptions<K, V> = {}): this {
    const list = typeof topics === 'string' ? [topics] : [...topics];
    if (list.length === 0) throw new TopologyException(`source ${name} names no topic`);
    this.checkNewName(name);
    for (const t of list) {
      const other = this.topicToSource.get(t);
      if (other !== undefined) throw new TopologyException(`topic ${t} is already read by source ${other}`);
    }
    for (const t of list) this.topicToSource.set(t, name);
    this.nodes.set(name, { kind: 'source', name, topics: list, options, children: [] });
    return this;
  }

  addProcessor<KIn, VIn, KOut, VOut>(name: string, supplier: ProcessorSupplier<KIn, VIn, KOut, VOut>, ...parentNames: string[]): this {
    this.checkNewName(name);
    if (parentNames.length === 0) throw new TopologyException(`processor ${name} has no parent`);
    this.nodes.set(name, { kind: 'processor', name, supplier, parents: [...parentNames], children: [], stores: [] });
    this.link(name, parentNames);
    return this;
  }

  addSink<K, V>(name: string, topic: string | TopicNameExtractor<K, V>, parentNames: string | readonly string[], options: SinkOptions<K, V> = {}): this {
    this.checkNewName(name);
    const parents = typeof parentNames === 'string' ? [parentNames] : [...parentNames];
    if (parents.length === 0) throw new TopologyException(`sink ${name} has no parent`);
    this.nodes.set(name, { kind: 'sink', name, topic, options, parents, children: [] });
    this.link(name, parents);
    return this;
  }

  addStateStore(store: StoreBuilder<StateStore>, ...processorNames: string[]): this {
    if (this.stores.has(store.name) || this.globalStores.has(store.name)) throw new TopologyException(`store ${store.name} is already added`);
    this.stores.set(store.name, store);
    for (const p of processorNames) this.connectProcessorAndStateStores(p, store.name);
    return this;
  }

  connectProcessorAndStateStores(processorName: string, ...storeNames: string[]): this {
    const node = this.nodes.get(processorName);
    if (!node || node.kind !== 'processor') throw new TopologyException(`no processor named ${processorName}`);
    for (const s of storeNames) {
      if (!this.stores.has(s)) throw new TopologyException(`no store named ${s} (add it with addStateStore first)`);
      if (!node.stores.includes(s)) node.stores.push(s);
    }
    return this;
  }

  /**
   * A store every task can read (getStateStore from any processor), filled from all partitions of topic by the
   * processor stateUpdateSupplier makes. Its changelog is the topic itself.
   */
  addGlobalStore<K, V>(store: StoreBuilder<StateStore>, sourceName: string, topic: string, options: SourceOptions<K, V>, processorName: string, stateUpdateSupplier: ProcessorSupplier<K, V, never, never>): this {
    if (this.stores.has(store.name) || this.globalStores.has(store.name)) throw new TopologyException(`store ${store.name} is already added`);
    this.addSource(sourceName, topic, options);
    this.checkNewName(processorName);
    this.nodes.set(processorName, { kind: 'processor', name: processorName, supplier: stateUpdateSupplier, parents: [sourceName], children: [], stores: [store.name] });
    this.link(processorName, [sourceName]);
    this.globalStores.set(store.name, { store, sourceName, processorName });
    return this;
  }

  /** Marks a topic as a repartition topic this application owns: it is named <application.id>-<topic> when it runs. */
  markRepartitionTopic(topic: string, numberOfPartitions?: number): this {
    this.repartition.add(topic);
    if (numberOfPartitions !== undefined) this.repartitionPartitions.set(topic, numberOfPartitions);
    return this;
  }

  /** The repartition and changelog topics this application needs, with their full names. */
  internalTopics(applicationId: string): { repartition: string[]; changelog: string[] } {
    const plan = this.build({ 'application.id': applicationId });
    return { repartition: [...plan.repartitionTopics], changelog: [...plan.changelogTopics] };
  }

  /** @internal the DSL's read of a node. */
  node(name: string): TopologyNode | undefined {
    return this.nodes.get(name);
  }

  /** @internal */
  hasStore(name: string): boolean {
    return this.stores.has(name) || this.globalStores.has(name);
  }

  private checkNewName(name: string): void {
    if (!name) throw new TopologyException('a node needs a name');
    if (this.nodes.has(name)) throw new TopologyException(`a node named ${name} already exists`);
  }

  private link(child: string, parents: readonly string[]): void {
    for (const p of parents) {
      const parent = this.nodes.get(p);
      if (!parent) throw new TopologyException(`${child}: no parent node named ${p}`);
      if (parent.kind === 'sink') throw new TopologyException(`${child}: sink ${p} cannot have children`);
      if (p === child) throw new TopologyException(`${child} cannot be its own parent`);
      parent.children.push(child);
    }
  }

  /** Groups nodes into sub-topologies: [nodes in definition order][]. */
  private groups(): Array<{ nodes: TopologyNode[]; globalStore?: string }> {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r)!;
      parent.set(x, r);
      return r;
    };
    const union = (a: string, b: string): void => {
      const ra = find(a);
      const rb = find(b);
      if (ra !== rb) parent.set(rb, ra);
    };
    for (const n of this.nodes.keys()) parent.set(n, n);
    const storeUser = new Map<string, string>();
    for (const n of this.nodes.values()) {
      if (n.kind !== 'source') for (const p of n.parents) union(n.name, p);
      if (n.kind === 'processor') {
        for (const s of n.stores) {
          const other = storeUser.get(s);
          if (other === undefined) storeUser.set(s, n.name);
          else union(n.name, other);
        }
      }
    }
    const byRoot = new Map<string, TopologyNode[]>();
    for (const n of this.nodes.values()) {
      const r = find(n.name);
      let list = byRoot.get(r);
      if (!list) byRoot.set(r, (list = []));
      list.push(n);
    }
    const globalByProcessor = new Map([...this.globalStores.values()].map((g) => [g.processorName, g.store.name]));
    return [...byRoot.values()].map((nodes) => {
      const g = nodes.find((n) => globalByProcessor.has(n.name));
      return g ? { nodes, globalStore: globalByProcessor.get(g.name) } : { nodes };
    });
  }

  describe(): TopologyDescription {
    return new TopologyDescription(this.groups().map((g, id) => {
      // Sources first, then by depth (the longest path from a source), then by name.
      const depth = new Map<string, number>();
      const depthOf = (n: TopologyNode): number => {
        const known = depth.get(n.name);
        if (known !== undefined) return known;
        const d = n.kind === 'source' ? 0 : 1 + Math.max(...n.parents.map((p) => depthOf(this.nodes.get(p)!)));
        depth.set(n.name, d);
        return d;
      };
      const nodes = [...g.nodes].sort((a, b) => depthOf(a) - depthOf(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return {
        id,
        globalStore: g.globalStore,
        nodes: nodes.map((n): NodeDescription => ({
          name: n.name,
          type: n.kind === 'source' ? 'Source' : n.kind === 'sink' ? 'Sink' : 'Processor',
          topics: n.kind === 'source' ? n.topics : undefined,
          topic: n.kind === 'sink' && typeof n.topic === 'string' ? n.topic : undefined,
          stores: n.kind === 'processor' ? [...n.stores] : undefined,
          predecessors: n.kind === 'source' ? [] : [...n.parents].sort(),
          successors: [...n.children].sort(),
        })),
      };
    }));
  }

  /** Resolves the topology for an application: decorated internal topics, changelog names, sub-topology plans. */
  build(props: StreamsProps): TopologyPlan {
    const appId = props['application.id'];
    const decorate = (t: string): string => (this.repartition.has(t) ? `${appId}-${t}` : t);
    const changelogTopics: string[] = [];
    const written = new Set<string>();
    const read = new Set<string>();
    const subtopologies = this.groups().map((g, id): SubtopologyPlan => {
      const sourcesByTopic = new Map<string, SourceNode>();
      const storeNames = new Set<string>();
      for (const n of g.nodes) {
        if (n.kind === 'source') for (const t of n.topics) { sourcesByTopic.set(decorate(t), n); read.add(decorate(t)); }
        if (n.kind === 'sink' && typeof n.topic === 'string') written.add(decorate(n.topic));
        if (n.kind === 'processor') for (const s of n.stores) storeNames.add(s);
      }
      const stores = [...storeNames].map((s) => {
        const builder = this.stores.get(s) ?? this.globalStores.get(s)!.store;
        // A global store's changelog is its source topic.
        const changelogTopic = g.globalStore === undefined && builder.loggingEnabled ? `${appId}-${s}-changelog` : null;
        if (changelogTopic) changelogTopics.push(changelogTopic);
        return { builder, changelogTopic };
      });
      return { id, nodes: g.nodes, sourcesByTopic, stores, global: g.globalStore !== undefined, globalStore: g.globalStore };
    });
    return {
      applicationId: appId,
      subtopologies,
      sourceTopics: [...read].filter((t) => !written.has(t)),
      repartitionTopics: [...this.repartition].map(decorate),
      changelogTopics,
      repartitionPartitions: new Map([...this.repartitionPartitions].map(([t, n]) => [decorate(t), n])),
      decorate,
    };
  }
}

/** Makes a processor from a plain function, for addProcessor. */
export function processorOf<KIn, VIn>(process: Processor<KIn, VIn>['process']): ProcessorSupplier<KIn, VIn> {
  return () => ({ process });
}
