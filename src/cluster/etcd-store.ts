/**
 * EtcdClusterStore: the broker's only door to etcd (docs/CLUSTER.md has the key layout).
 *
 * - The image: one range read of the whole prefix at a revision R, then ONE watch on the prefix from R+1, so no
 *   change is missed or seen twice. The events of one etcd revision (one transaction) are applied together and
 *   make one new immutable MetadataImage; onImage listeners see every image in revision order. If the watch is
 *   cancelled (its start revision was compacted away) the prefix is read again and the watch restarted. So is a
 *   watch that lost its connection as soon as etcd answers this store again (a keep-alive, any call): the image
 *   is current right after a network heal, not after the watch's reconnect backoff. An image never goes back.
 * - Writes are transactions: create-if-absent for registrations, topics and the cluster id; compare-and-swap on
 *   the mod revision for partition states (whose partitionEpoch the caller names), the producer id block, topic
 *   configs and broker configs; partition writes made as controller (and its broker incarnations record) also
 *   compare the controller epoch, so a deposed controller's writes are refused. Each write resolves once the
 *   store's own image shows it (read your writes).
 *   Calls failing with a recoverable error (no leader during an etcd election, a dead member) are retried for up
 *   to dialTimeoutMs; a retried transaction that had in fact been applied is recognised where it matters.
 * - The lease: granted by registerBroker, kept alive by etcd3; the registration, and the controller key while we
 *   hold it, are bound to it. When no keep-alive has been answered for a whole TTL the lease is treated as lost
 *   (etcd may have expired it already): onLeaseLost listeners fire and a controller is deposed.
 */
import { Etcd3, Range, isRecoverableError, type IKeyValue, type ITxnResponse, type IWatchResponse, type Lease, type Watcher } from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleWhen, noop, type IPolicy } from 'cockatiel';
import { KafkaError, TributaryError } from '../errors.js';
import { EtcdScramCredentialBackend } from './scram-credentials-etcd.js';
import { EtcdAclBackend } from './acls-etcd.js';
import { EtcdClientQuotaBackend } from './client-quotas-etcd.js';
import type { Logger } from '../logger.js';
import type {
  BrokerRegistration,
  ControllerInfo,
  MetadataImage,
  PartitionChange,
  PartitionState,
  TopicImage,
} from './metadata.js';
import { SECURITY_PROTOCOLS, type ListenerEndpoint, type SecurityProtocol } from './metadata.js';

export interface EtcdClusterStoreOptions {
  /** Client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Key prefix; default '/tributary'. */
  prefix?: string;
  /** The broker lease's TTL; default 6 s. */
  leaseTtlSeconds?: number;
  logger: Logger;
  /** How long a call keeps being retried while etcd is unreachable or electing (connecting included); default 5000 ms. */
  dialTimeoutMs?: number;
  /**
   * Deadline of one attempt of a unary call; default 2000 ms. A request a follower forwarded to a leader that just
   * died hangs until it, then is retried: etcd elects a new leader within about a second.
   */
  callTimeoutMs?: number;
}

export interface BrokerRegistrationRequest {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
  incarnationId: string;
  /** Every advertised listener (host/port above are the inter-broker listener's). */
  listeners?: readonly ListenerEndpoint[];
}

/** How long a write waits for the watch to bring its revision into the image before it resolves anyway. */
const READ_YOUR_WRITE_WAIT_MS = 5000;
const MAX_CAS_ATTEMPTS = 100;
/** Keys per range request while loading the image (all pages read at the first page's revision). */
const LOAD_PAGE_SIZE = 1000;

/**
 * Commits a transaction; etcd's refusal of a transaction with more operations than its --max-txn-ops (default
 * 128: a topic of 127 partitions) becomes a message that says what to change.
 */
async function commitTxn(txn: { commit(): Promise<ITxnResponse> }, what: string, ops: number): Promise<ITxnResponse> {
  try {
    return await txn.commit();
  } catch (err) {
    if (/too many operations in txn request/.test((err as Error).message)) {
      throw new TributaryError('ETCD_TXN_TOO_LARGE',
        `${what} needs ${ops} keys written in one etcd transaction, more than etcd's --max-txn-ops allows (default 128); start etcd with a larger --max-txn-ops`, { cause: err });
    }
    throw err;
  }
}

interface Watermark {
  revision: number;
  resolve: () => void;
}

interface Campaigner {
  nodeId: number;
  onElected: (epoch: number) => void;
  onDeposed: () => void;
  /** Set while we are controller: our epoch and the revision of the winning transaction. */
  elected: { epoch: number; revision: number } | null;
  attempting: boolean;
  retryTimer: NodeJS.Timeout | undefined;
  backoffMs: number;
}

/** The mutable state behind the images; every image is a frozen copy of it. */
class ImageState {
  clusterId = '';
  controller: ControllerInfo | null = null;
  /** The lease the controller key is bound to ('0' if none). */
  controllerLease = '0';
  brokers = new Map<number, BrokerRegistration>();
  topicMeta = new Map<string, { topicId: string; config: Readonly<Record<string, string>> }>();
  partitions = new Map<string, Map<number, PartitionState>>();
  brokerConfigs = new Map<string, Readonly<Record<string, string>>>();
  /** Mod revision of every key under the prefix (relative key → revision), for compare-and-swap. */
  modRevisions = new Map<string, number>();
}

function emptyImage(): MetadataImage {
  return Object.freeze({ clusterId: '', controller: null, brokers: new Map(), topics: new Map(), brokerConfigs: new Map(), revision: 0 });
}

function partitionJson(s: PartitionState): string {
  return JSON.stringify({
    replicas: s.replicas,
    isr: s.isr,
    leader: s.leader,
    leaderEpoch: s.leaderEpoch,
    partitionEpoch: s.partitionEpoch,
    addingReplicas: s.addingReplicas,
    removingReplicas: s.removingReplicas,
  });
}

function isIntArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => Number.isInteger(x));
}

function parsePartition(text: string): PartitionState | null {
  const v = JSON.parse(text) as Record<string, unknown>;
  if (!isIntArray(v.replicas) || !isIntArray(v.isr) || !Number.isInteger(v.leader) || !Number.isInteger(v.leaderEpoch)
    || !Number.isInteger(v.partitionEpoch)) return null;
  return Object.freeze({
    replicas: Object.freeze([...v.replicas]),
    isr: Object.freeze([...v.isr]),
    leader: v.leader as number,
    leaderEpoch: v.leaderEpoch as number,
    partitionEpoch: v.partitionEpoch as number,
    addingReplicas: Object.freeze(isIntArray(v.addingReplicas) ? [...v.addingReplicas] : []),
    removingReplicas: Object.freeze(isIntArray(v.removingReplicas) ? [...v.removingReplicas] : []),
  });
}

function stringRecord(v: unknown): Readonly<Record<string, string>> {
  const out: Record<string, string> = {};
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (typeof x === 'string') out[k] = x;
  }
  return Object.freeze(out);
}

/**
 * The watch stream's reconnect backoff (cockatiel's IBackoff shape): 100 ms doubling to 500 ms. etcd3's default
 * grows to 30 s, which would leave an etcd that came back unwatched that long (and a closed store's last
 * reconnect timer pending that long). A broker does not wait for it after a heal (etcdAnswered), but a store
 * without a lease has only this.
 */
class WatchBackoff {
  constructor(readonly duration = 100) {}
  next(): WatchBackoff {
    return new WatchBackoff(Math.min(this.duration * 2, 500));
  }
}

/**
 * What etcd3 wraps each endpoint's calls in. Its default, a circuit breaker opened by 3 failures for 5 s, kept a
 * healed broker from reaching etcd for up to 5 s (every call, the watch and the lease's included, refused
 * unsent): with one endpoint there is no other to turn to, so none; with several, one that skips a failing member
 * for 1 s.
 */
function hostPolicy(endpoints: number): () => IPolicy {
  if (endpoints <= 1) return () => noop;
  return () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A topic name that is a valid etcd key segment (Kafka's legal characters; '/' would break the layout). */
function checkTopicName(name: string): void {
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(name)) throw new KafkaError('INVALID_TOPIC_EXCEPTION', `Invalid topic name '${name}'.`);
}

export class EtcdClusterStore {
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly log: Logger;
  private readonly state = new ImageState();
  private current: MetadataImage = emptyImage();
  private readonly listeners = new Set<(image: MetadataImage, previous: MetadataImage) => void>();
  private readonly leaseLostListeners = new Set<(err: Error) => void>();
  private watermarks: Watermark[] = [];
  private watcher: Watcher | undefined;
  private reloading = false;
  /** The watch lost its connection and has not reconnected: the image may be behind etcd. */
  private watchDown = false;
  private closed = false;
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  private leaseLost = false;
  /** The lease this store last lost, while its registration may still be in etcd (revoked on registering again). */
  private lostLease: { lease: Lease; id: string | undefined } | undefined;
  private leaseCheck: NodeJS.Timeout | undefined;
  private lastKeepAliveOk = 0;
  private keepAliveFiredAt = 0;
  private registration: { key: string; reg: BrokerRegistrationRequest; brokerEpoch: number } | undefined;
  private campaigner: Campaigner | undefined;

  private constructor(private readonly client: Etcd3, private readonly opts: EtcdClusterStoreOptions) {
    this.prefix = (opts.prefix ?? '/tributary').replace(/\/+$/, '');
    this.ttl = opts.leaseTtlSeconds ?? 6;
    this.log = opts.logger;
  }

  /** Connects, loads the prefix into the image and starts the watch; rejects with a clear error if etcd is unreachable. */
  static async connect(opts: EtcdClusterStoreOptions): Promise<EtcdClusterStore> {
    if (opts.endpoints.length === 0) throw new TributaryError('ETCD_CONFIG', 'no etcd endpoints given');
    const dialTimeout = opts.dialTimeoutMs ?? 5000;
    const callTimeout = Math.min(opts.callTimeoutMs ?? 2000, dialTimeout);
    const client = new Etcd3({
      hosts: opts.endpoints,
      dialTimeout,
      // Unary calls get a deadline; the watch and keep-alive streams live on.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callTimeout }),
      faultHandling: { watchBackoff: new WatchBackoff(), host: hostPolicy(opts.endpoints.length) },
    });
    const store = new EtcdClusterStore(client, opts);
    try {
      await store.load();
    } catch (err) {
      client.close();
      throw new TributaryError('ETCD_UNREACHABLE', `cannot reach etcd at ${opts.endpoints.join(',')}: ${(err as Error).message}`, { cause: err });
    }
    return store;
  }

  /**
   * Runs one etcd call again while it fails with a recoverable error (no connection, no leader, leader changed:
   * an etcd election takes about a second; etcd3 itself retries only 3 times at once), with backoff, for up to
   * the dial timeout. A retried transaction may have been applied the first time: its callers tell that case
   * from a real conflict where it matters (registration, topic creation, partition addition, the campaign).
   */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.opts.dialTimeoutMs ?? 5000);
    let delay = 50;
    for (;;) {
      try {
        const result = await fn();
        this.etcdAnswered();
        return result;
      } catch (err) {
        if (this.closed || !isRecoverableError(err as Error) || Date.now() + delay > deadline) throw err;
        this.log.debug({ err: (err as Error).message }, 'etcd call failed; retrying');
        await sleep(delay);
        delay = Math.min(delay * 2, 500);
      }
    }
  }

  private key(rel: string): string {
    return `${this.prefix}/${rel}`;
  }

  // ---------------------------------------------------------------------------------------------------------
  // The image

  image(): MetadataImage {
    return this.current;
  }

  onImage(cb: (image: MetadataImage, previous: MetadataImage) => void): () => void {
    this.listeners.add(cb);
    return () => { this.listeners.delete(cb); };
  }

  /** Resolves once the image reflects `revision` (or after `timeoutMs`, resolving false). */
  async awaitRevision(revision: number, timeoutMs = READ_YOUR_WRITE_WAIT_MS): Promise<boolean> {
    if (this.current.revision >= revision) return true;
    let timer: NodeJS.Timeout | undefined;
    const reached = new Promise<boolean>((resolve) => {
      this.watermarks.push({ revision, resolve: () => resolve(true) });
    });
    const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const result = await Promise.race([reached, timedOut]);
    clearTimeout(timer);
    return result;
  }

  /** One range read of the whole prefix, then a watch from its revision + 1. Used at start and after a compaction. */
  private async load(): Promise<void> {
    const prefixKey = `${this.prefix}/`;
    const end = Range.prefix(prefixKey).end;
    let res = await this.retry(() => this.client.getAll().prefix(prefixKey).limit(LOAD_PAGE_SIZE).exec());
    const revision = res.header.revision;
    const kvs = [...res.kvs];
    while (res.more && res.kvs.length > 0) {
      const after = Buffer.concat([res.kvs[res.kvs.length - 1]!.key, Buffer.from([0])]);
      res = await this.retry(() => this.client.getAll().inRange(new Range(after, end)).limit(LOAD_PAGE_SIZE).revision(revision).exec());
      kvs.push(...res.kvs);
    }
    // Never back: a read answered at an older revision than the image (not expected of etcd's linearizable
    // reads, but cheap to rule out) keeps the image and watches from where it is.
    const from = Math.max(Number(revision), this.current.revision);
    if (Number(revision) > this.current.revision || this.current.revision === 0) {
      Object.assign(this.state, new ImageState());
      const touched = new Set<string>();
      for (const kv of kvs) this.applyKv('put', kv, touched);
      this.publish(Number(revision), touched, true);
    }
    await this.startWatch(from + 1);
  }

  private async startWatch(fromRevision: number): Promise<void> {
    const watcher = await this.client.watch().prefix(`${this.prefix}/`).startRevision(String(fromRevision)).create();
    if (this.closed) {
      await watcher.cancel().catch(() => undefined);
      return;
    }
    this.watcher = watcher;
    this.watchDown = false;
    // A watcher replaced by a resync may still deliver what it had: only the current one feeds the image.
    watcher.on('data', (res: IWatchResponse) => { if (this.watcher === watcher) this.onWatchData(res); });
    watcher.on('disconnected', (err: Error) => {
      if (this.closed || this.watcher !== watcher) return;
      if (!this.watchDown) this.log.warn({ err: err.message }, 'etcd watch disconnected; reconnecting');
      this.watchDown = true;
    });
    watcher.on('connected', () => {
      if (this.watcher !== watcher) return;
      this.watchDown = false;
      this.log.debug('etcd watch connected');
    });
    watcher.on('error', (err: Error) => {
      if (this.closed || this.watcher !== watcher) return;
      // A cancelled watch (its start revision compacted away, typically): read everything again.
      this.log.warn({ err: err.message }, 'etcd watch cancelled; reloading the metadata image');
      if (this.watcher === watcher) this.watcher = undefined;
      void watcher.cancel().catch(() => undefined);
      void this.reload();
    });
  }

  /**
   * etcd answered a call: if the watch is disconnected (a network cut that healed, an etcd that came back), read the
   * prefix now and watch again from there, rather than serve a stale image (leaders, ISRs) until the watch's own
   * reconnect. The old watcher is dropped first; the image moves forward only (load()).
   */
  private etcdAnswered(): void {
    if (!this.watchDown || this.reloading || this.closed) return;
    this.log.info('etcd answers again while the watch is disconnected: reading the metadata image now');
    const old = this.watcher;
    this.watcher = undefined;
    this.watchDown = false;
    if (old) void old.cancel().catch(() => undefined);
    void this.reload();
  }

  private async reload(): Promise<void> {
    if (this.reloading || this.closed) return;
    this.reloading = true;
    let backoff = 100;
    try {
      while (!this.closed) {
        try {
          await this.load();
          return;
        } catch (err) {
          this.log.warn({ err: (err as Error).message }, 'cannot reload the metadata image from etcd; retrying');
          await sleep(backoff);
          backoff = Math.min(backoff * 2, 1000);
        }
      }
    } finally {
      this.reloading = false;
    }
  }

  private onWatchData(res: IWatchResponse): void {
    if (this.closed || res.events.length === 0) return;
    // A response may carry several revisions: apply each revision's events together, in order.
    let i = 0;
    const events = res.events;
    while (i < events.length) {
      const revision = Number(events[i]!.kv.mod_revision);
      if (revision <= this.current.revision) { i++; continue; }
      const touched = new Set<string>();
      while (i < events.length && Number(events[i]!.kv.mod_revision) === revision) {
        const ev = events[i]!;
        this.applyKv(ev.type === 'Delete' ? 'delete' : 'put', ev.kv, touched);
        i++;
      }
      this.publish(revision, touched, false);
    }
  }

  /** Applies one key's put or delete to the mutable state; `touched` collects 'topic:<name>' and section names. */
  private applyKv(type: 'put' | 'delete', kv: IKeyValue, touched: Set<string>): void {
    const full = kv.key.toString('utf8');
    if (!full.startsWith(`${this.prefix}/`)) return;
    const rel = full.slice(this.prefix.length + 1);
    const s = this.state;
    if (type === 'put') s.modRevisions.set(rel, Number(kv.mod_revision));
    else s.modRevisions.delete(rel);
    const text = type === 'put' ? kv.value.toString('utf8') : '';
    try {
      if (rel === 'cluster_id') {
        s.clusterId = text;
      } else if (rel === 'controller') {
        s.controllerLease = type === 'delete' ? '0' : String(kv.lease);
        if (type === 'delete') s.controller = null;
        else {
          const v = JSON.parse(text) as { nodeId?: unknown; epoch?: unknown };
          s.controller = Number.isInteger(v.nodeId) && Number.isInteger(v.epoch) ? Object.freeze({ nodeId: v.nodeId as number, epoch: v.epoch as number }) : null;
        }
        touched.add('controller');
      } else if (rel.startsWith('brokers/')) {
        const nodeId = Number(rel.slice('brokers/'.length));
        if (!Number.isInteger(nodeId)) return;
        touched.add('brokers');
        if (type === 'delete') { s.brokers.delete(nodeId); return; }
        const v = JSON.parse(text) as Record<string, unknown>;
        s.brokers.set(nodeId, Object.freeze({
          nodeId,
          host: String(v.host ?? ''),
          port: Number(v.port ?? 0),
          rack: typeof v.rack === 'string' ? v.rack : null,
          incarnationId: String(v.incarnationId ?? ''),
          brokerEpoch: Number(kv.create_revision),
          leaseId: String(kv.lease),
          shuttingDown: v.shuttingDown === true,
          ...(Array.isArray(v.listeners) ? { listeners: parseRegisteredListeners(v.listeners) } : {}),
        }));
      } else if (rel.startsWith('topics/')) {
        const name = rel.slice('topics/'.length);
        touched.add(`topic:${name}`);
        if (type === 'delete') { s.topicMeta.delete(name); return; }
        const v = JSON.parse(text) as Record<string, unknown>;
        s.topicMeta.set(name, { topicId: String(v.topicId ?? ''), config: stringRecord(v.config) });
      } else if (rel.startsWith('partitions/')) {
        const rest = rel.slice('partitions/'.length);
        const slash = rest.lastIndexOf('/');
        const name = rest.slice(0, slash);
        const partition = Number(rest.slice(slash + 1));
        if (slash <= 0 || !Number.isInteger(partition) || partition < 0) return;
        touched.add(`topic:${name}`);
        let parts = s.partitions.get(name);
        if (type === 'delete') {
          parts?.delete(partition);
          if (parts?.size === 0) s.partitions.delete(name);
          return;
        }
        const state = parsePartition(text);
        if (state === null) {
          this.log.warn({ key: full }, 'ignoring a malformed partition state in etcd');
          return;
        }
        if (!parts) s.partitions.set(name, (parts = new Map()));
        parts.set(partition, state);
      } else if (rel.startsWith('configs/brokers/')) {
        const entity = rel.slice('configs/brokers/'.length);
        touched.add('configs');
        if (type === 'delete') s.brokerConfigs.delete(entity);
        else s.brokerConfigs.set(entity, stringRecord(JSON.parse(text)));
      }
    } catch (err) {
      this.log.warn({ key: full, err: (err as Error).message }, 'ignoring a malformed value in etcd');
    }
  }

  /** Makes the next image from the state (copying only what `touched` names) and tells the listeners. */
  private publish(revision: number, touched: Set<string>, full: boolean): void {
    const prev = this.current;
    const s = this.state;
    const brokers = full || touched.has('brokers') ? new Map(s.brokers) : prev.brokers;
    const brokerConfigs = full || touched.has('configs') ? new Map(s.brokerConfigs) : prev.brokerConfigs;
    let topics = prev.topics;
    const names = full ? [...s.topicMeta.keys()] : [...touched].filter((t) => t.startsWith('topic:')).map((t) => t.slice(6));
    if (full || names.length > 0) {
      const next = full ? new Map<string, TopicImage>() : new Map(prev.topics);
      for (const name of names) {
        const meta = s.topicMeta.get(name);
        if (!meta) { next.delete(name); continue; }
        const parts = s.partitions.get(name);
        const list: PartitionState[] = [];
        // Partitions are numbered 0..n-1; a gap (never written by this store) ends the list.
        for (let p = 0; parts?.has(p); p++) list.push(parts.get(p)!);
        next.set(name, Object.freeze({ name, topicId: meta.topicId, config: meta.config, partitions: Object.freeze(list) }));
      }
      topics = next;
    }
    const image: MetadataImage = Object.freeze({
      clusterId: s.clusterId,
      controller: s.controller,
      brokers,
      topics,
      brokerConfigs,
      revision,
    });
    this.current = image;
    for (const cb of [...this.listeners]) {
      try {
        cb(image, prev);
      } catch (err) {
        this.log.error({ err }, 'a metadata image listener threw');
      }
    }
    if (this.watermarks.length > 0) {
      const due = this.watermarks.filter((w) => w.revision <= revision);
      this.watermarks = this.watermarks.filter((w) => w.revision > revision);
      for (const w of due) w.resolve();
    }
    this.checkCampaign();
  }

  // ---------------------------------------------------------------------------------------------------------
  // Cluster id and registration

  async ensureClusterId(proposed: string): Promise<string> {
    const key = this.key('cluster_id');
    const res = await this.retry(() => this.client.if(key, 'Create', '==', 0)
      .then(this.client.put(key).value(proposed))
      .else(this.client.get(key))
      .commit());
    if (res.succeeded) {
      await this.awaitRevision(Number(res.header.revision));
      return proposed;
    }
    const kv = res.responses[0]?.response_range?.kvs[0];
    if (!kv) throw new TributaryError('ETCD_STATE', 'the cluster id key vanished while being read');
    return kv.value.toString('utf8');
  }

  /** Registers this broker under a new lease; returns its broker epoch (the key's create revision). */
  async registerBroker(reg: BrokerRegistrationRequest): Promise<number> {
    // Once per lease: after a lost lease the broker may register again (a new lease, a new broker epoch).
    if (this.lease && !this.leaseLost) throw new TributaryError('ETCD_STATE', 'this store has registered a broker already');
    const key = this.key(`brokers/${reg.nodeId}`);
    // A new etcd3 Lease per attempt: one keeps its first grant's outcome, so retrying a failed grant on the same
    // object failed again at once.
    let lease = this.client.lease(this.ttl, { autoKeepAlive: true });
    let leaseId: string;
    // The TTL is counted from the last renewal sent before an answer: a grant that waited through an etcd outage
    // (a stopped etcd holds it) was sent long ago, and the new lease would be declared lost as soon as it is
    // watched. So the lease is renewed once more right after the grant, and counted from that request.
    let grantedFrom = Date.now();
    try {
      let attempts = 0;
      leaseId = await this.retry(() => {
        if (attempts++ > 0) {
          lease.release();
          lease = this.client.lease(this.ttl, { autoKeepAlive: true });
        }
        return lease.grant();
      });
      await this.retry(() => {
        grantedFrom = Date.now();
        return lease.keepaliveOnce();
      });
    } catch (err) {
      lease.release();
      throw new TributaryError('ETCD_UNREACHABLE', `cannot get an etcd lease: ${(err as Error).message}`, { cause: err });
    }
    const value = JSON.stringify({ host: reg.host, port: reg.port, rack: reg.rack, incarnationId: reg.incarnationId, shuttingDown: false, ...(reg.listeners ? { listeners: reg.listeners } : {}) });
    const create = (): Promise<ITxnResponse> => this.retry(() => this.client.if(key, 'Create', '==', 0)
      .then(this.client.put(key).value(value).lease(leaseId))
      .else(this.client.get(key))
      .commit());
    let res;
    try {
      res = await create();
      // Our own registration from before the lease was lost may still be there: etcd kept the lease alive while
      // it was unreachable itself (or restarted, which renews every lease). It is this process's, so it is
      // revoked rather than waited out for a TTL; the new registration still gets a new broker epoch.
      const stale = res.succeeded ? undefined : res.responses[0]?.response_range?.kvs[0];
      const lost = this.lostLease;
      if (stale && lost && lost.id !== undefined && BigInt(stale.lease) === BigInt(lost.id)) {
        await lost.lease.revoke().catch(() => undefined);
        this.lostLease = undefined;
        res = await create();
      }
    } catch (err) {
      await lease.revoke().catch(() => undefined);
      throw err;
    }
    const held = res.responses[0]?.response_range?.kvs[0];
    // A retried transaction that had been applied the first time finds our own key: that is a success.
    const ours = !res.succeeded && held !== undefined && BigInt(held.lease) === BigInt(leaseId);
    if (!res.succeeded && !ours) {
      await lease.revoke().catch(() => undefined);
      const kv = held;
      let holder = '';
      try {
        const v = JSON.parse(kv?.value.toString('utf8') ?? '{}') as Record<string, unknown>;
        holder = ` by ${String(v.host)}:${String(v.port)} (incarnation ${String(v.incarnationId)})`;
      } catch { /* describe it without the holder */ }
      throw new KafkaError('DUPLICATE_BROKER_REGISTRATION',
        `Broker id ${reg.nodeId} is already registered${holder}; another live broker uses this node id (a previous life's registration expires within ${this.ttl} s).`);
    }
    const brokerEpoch = ours ? Number(held!.create_revision) : Number(res.header.revision);
    this.lease = lease;
    this.leaseId = leaseId;
    this.leaseLost = false;
    this.registration = { key, reg, brokerEpoch };
    this.watchLease(lease, grantedFrom);
    await this.awaitRevision(brokerEpoch);
    this.checkCampaign();
    return brokerEpoch;
  }

  /** `since`: a time before the grant request was sent (the TTL counts from etcd's answer, a bit later). */
  private watchLease(lease: Lease, since: number): void {
    this.lastKeepAliveOk = since;
    this.keepAliveFiredAt = 0;
    const current = (): boolean => this.lease === lease;
    lease.on('keepaliveFired', () => { if (current()) this.keepAliveFiredAt = Date.now(); });
    // etcd3 retries a failed keep-alive every 100 ms: one warning per outage, one line when it ends.
    let failing = false;
    lease.on('keepaliveSucceeded', () => {
      if (!current()) return;
      this.etcdAnswered();
      this.lastKeepAliveOk = Math.max(this.lastKeepAliveOk, this.keepAliveFiredAt);
      if (failing && !this.closed) this.log.info('etcd lease keep-alive answered again');
      failing = false;
    });
    lease.on('keepaliveFailed', (err) => {
      if (!current() || this.closed || failing) return;
      failing = true;
      this.log.warn({ err: (err as unknown as Error).message }, 'etcd lease keep-alive failed; retrying');
    });
    lease.on('lost', (err) => { if (current()) this.loseLease(err); });
    clearInterval(this.leaseCheck);
    // etcd3 declares a lease lost only after 2 TTLs without an answer; etcd may expire it after one. Be strict:
    // a lease not renewed for a whole TTL is gone for this broker.
    this.leaseCheck = setInterval(() => {
      if (Date.now() - this.lastKeepAliveOk > this.ttl * 1000) {
        this.loseLease(new TributaryError('ETCD_LEASE_LOST', `no etcd lease keep-alive answered for ${this.ttl} s`));
      }
    }, Math.max(100, (this.ttl * 1000) / 8));
    this.leaseCheck.unref();
  }

  private loseLease(err: Error): void {
    if (this.leaseLost || this.closed) return;
    this.leaseLost = true;
    clearInterval(this.leaseCheck);
    this.lease?.release();
    if (this.lease) this.lostLease = { lease: this.lease, id: this.leaseId };
    this.log.warn({ err: err.message }, 'etcd lease lost: this broker is fenced');
    const c = this.campaigner;
    if (c) {
      clearTimeout(c.retryTimer);
      if (c.elected) {
        c.elected = null;
        this.safeCall(c.onDeposed);
      }
    }
    for (const cb of [...this.leaseLostListeners]) this.safeCall(() => cb(err));
  }

  private safeCall(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err }, 'a cluster store callback threw');
    }
  }

  onLeaseLost(cb: (err: Error) => void): void {
    this.leaseLostListeners.add(cb);
  }

  /** Rewrites this broker's registration with shuttingDown: true (same key, same lease). */
  async setShuttingDown(): Promise<void> {
    const r = this.registration;
    if (!r || !this.leaseId) throw new TributaryError('ETCD_STATE', 'no broker registered by this store');
    const { reg } = r;
    const value = JSON.stringify({ host: reg.host, port: reg.port, rack: reg.rack, incarnationId: reg.incarnationId, shuttingDown: true, ...(reg.listeners ? { listeners: reg.listeners } : {}) });
    const leaseId = this.leaseId;
    const res = await this.retry(() => this.client.if(r.key, 'Create', '==', r.brokerEpoch)
      .then(this.client.put(r.key).value(value).lease(leaseId))
      .commit());
    if (!res.succeeded) throw new TributaryError('ETCD_LEASE_LOST', `broker ${reg.nodeId}'s registration is gone (its lease expired)`);
    await this.awaitRevision(Number(res.header.revision));
  }

  // ---------------------------------------------------------------------------------------------------------
  // Controller election

  /**
   * Campaigns for the controller in the background while the lease lives: whenever the image shows no
   * controller, a transaction creates the controller key (bound to our lease) if absent and bumps
   * controller_epoch by compare-and-swap. onDeposed when our key disappears or changes, or the lease is lost.
   */
  campaign(nodeId: number, onElected: (epoch: number) => void, onDeposed: () => void): void {
    if (!this.leaseId) throw new TributaryError('ETCD_STATE', 'campaign() needs registerBroker() first (the controller key is bound to the lease)');
    if (this.campaigner) throw new TributaryError('ETCD_STATE', 'already campaigning');
    this.campaigner = { nodeId, onElected, onDeposed, elected: null, attempting: false, retryTimer: undefined, backoffMs: 100 };
    this.checkCampaign();
  }

  private checkCampaign(): void {
    const c = this.campaigner;
    if (!c || this.closed || this.leaseLost) return;
    const image = this.current;
    if (c.elected) {
      if (image.revision < c.elected.revision) return;
      const ctl = image.controller;
      if (ctl && ctl.nodeId === c.nodeId && ctl.epoch === c.elected.epoch) return;
      c.elected = null;
      this.log.warn({ nodeId: c.nodeId }, 'no longer the controller');
      this.safeCall(c.onDeposed);
    }
    // Elected by an attempt whose answer was lost (retried, or failed after etcd applied it): the key is ours.
    const ctl = image.controller;
    if (ctl && ctl.nodeId === c.nodeId && this.leaseId !== undefined && this.state.controllerLease !== '0'
      && BigInt(this.state.controllerLease) === BigInt(this.leaseId) && !c.attempting) {
      c.elected = { epoch: ctl.epoch, revision: image.revision };
      this.log.info({ nodeId: c.nodeId, epoch: ctl.epoch }, 'elected controller');
      this.safeCall(() => c.onElected(ctl.epoch));
      return;
    }
    if (ctl === null && !c.attempting) void this.tryElect(c);
  }

  private async tryElect(c: Campaigner): Promise<void> {
    c.attempting = true;
    clearTimeout(c.retryTimer);
    c.retryTimer = undefined;
    try {
      const epochKey = this.key('controller_epoch');
      const ctlKey = this.key('controller');
      const got = await this.client.get(epochKey).exec();
      const kv = got.kvs[0];
      const old = kv ? Number(kv.value.toString('utf8')) : 0;
      const modRev = kv ? Number(kv.mod_revision) : 0;
      const epoch = (Number.isFinite(old) ? old : 0) + 1;
      if (this.closed || this.leaseLost || this.campaigner !== c) return;
      const res = await this.client.if(ctlKey, 'Create', '==', 0)
        .and(epochKey, 'Mod', '==', modRev)
        .then(
          this.client.put(ctlKey).value(JSON.stringify({ nodeId: c.nodeId, epoch })).lease(this.leaseId!),
          this.client.put(epochKey).value(String(epoch)),
        )
        .commit();
      c.backoffMs = 100;
      if (res.succeeded && !this.closed && !this.leaseLost) {
        c.elected = { epoch, revision: Number(res.header.revision) };
        this.log.info({ nodeId: c.nodeId, epoch }, 'elected controller');
        this.safeCall(() => c.onElected(epoch));
      }
    } catch (err) {
      if (!this.closed) this.log.warn({ err: (err as Error).message }, 'controller campaign failed; retrying');
      c.backoffMs = Math.min(c.backoffMs * 2, 5000);
    } finally {
      c.attempting = false;
    }
    // Check again a little later in any case (not at once: after a lost race the image shows the winner only when
    // the watch brings it, and a controller may have come and gone meanwhile).
    if (!this.closed && !this.leaseLost && this.campaigner === c) {
      c.retryTimer = setTimeout(() => this.checkCampaign(), c.elected ? this.ttl * 1000 : c.backoffMs);
      c.retryTimer.unref();
    }
  }

  // ---------------------------------------------------------------------------------------------------------
  // Topics and partitions

  async createTopic(name: string, topic: { topicId: string; config: Record<string, string> }, partitions: PartitionState[]): Promise<void> {
    checkTopicName(name);
    const topicKey = this.key(`topics/${name}`);
    const ops = [this.client.put(topicKey).value(JSON.stringify({ topicId: topic.topicId, config: topic.config }))];
    partitions.forEach((p, i) => ops.push(this.client.put(this.key(`partitions/${name}/${i}`)).value(partitionJson(p))));
    const res = await this.retry(() => commitTxn(this.client.if(topicKey, 'Create', '==', 0).then(...ops).else(this.client.get(topicKey)), `Topic '${name}'`, ops.length));
    if (!res.succeeded) {
      // Our own creation, applied by an attempt whose answer was lost, has our topic id.
      const kv = res.responses[0]?.response_range?.kvs[0];
      const stored = kv ? (JSON.parse(kv.value.toString('utf8')) as { topicId?: unknown }).topicId : undefined;
      if (stored !== topic.topicId || kv === undefined) throw new KafkaError('TOPIC_ALREADY_EXISTS', `Topic '${name}' already exists.`);
      await this.awaitRevision(Number(kv.mod_revision));
      return;
    }
    await this.awaitRevision(Number(res.header.revision));
  }

  async deleteTopic(name: string): Promise<void> {
    const topicKey = this.key(`topics/${name}`);
    const res = await this.retry(() => this.client.if(topicKey, 'Version', '>', 0)
      .then(this.client.delete().key(topicKey), this.client.delete().prefix(this.key(`partitions/${name}/`)))
      .commit());
    if (!res.succeeded) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    await this.awaitRevision(Number(res.header.revision));
  }

  /**
   * Appends partitions after the existing ones, compare-and-swapped on the partition count: `expectedCount`
   * (default: the count in this store's image) must still be the topic's count in etcd.
   */
  async addPartitions(name: string, newPartitions: PartitionState[], expectedCount?: number): Promise<void> {
    const topicKey = this.key(`topics/${name}`);
    const count = expectedCount ?? this.current.topics.get(name)?.partitions.length;
    if (count === undefined) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
    const txn = () => {
      let t = this.client.if(topicKey, 'Version', '>', 0).and(this.key(`partitions/${name}/${count}`), 'Create', '==', 0);
      if (count > 0) t = t.and(this.key(`partitions/${name}/${count - 1}`), 'Version', '>', 0);
      return t.then(...newPartitions.map((p, i) => this.client.put(this.key(`partitions/${name}/${count + i}`)).value(partitionJson(p))));
    };
    const res = await this.retry(() => commitTxn(txn(), `Adding ${newPartitions.length} partitions to '${name}'`, newPartitions.length));
    if (!res.succeeded) {
      const now = await this.retry(() => this.client.getAll().prefix(this.key(`partitions/${name}/`)).count());
      const exists = (await this.retry(() => this.client.get(topicKey).exec())).kvs.length > 0;
      if (!exists) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      // An attempt whose answer was lost may have added exactly these partitions: compare them.
      if (now === count + newPartitions.length) {
        const last = (await this.retry(() => this.client.get(this.key(`partitions/${name}/${now - 1}`)).exec())).kvs[0];
        if (last && last.value.toString('utf8') === partitionJson(newPartitions[newPartitions.length - 1]!)) {
          await this.awaitRevision(Number(last.mod_revision));
          return;
        }
      }
      throw new KafkaError('INVALID_PARTITIONS', `Topic '${name}' has ${now} partitions, not ${count}: it changed meanwhile; retry.`);
    }
    await this.awaitRevision(Number(res.header.revision));
  }

  /** Replaces the topic's config overrides (compare-and-swap on the topic key, retried). */
  async updateTopicConfig(name: string, config: Record<string, string>): Promise<void> {
    const topicKey = this.key(`topics/${name}`);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const kv = (await this.retry(() => this.client.get(topicKey).exec())).kvs[0];
      if (!kv) throw new KafkaError('UNKNOWN_TOPIC_OR_PARTITION', `Topic '${name}' does not exist.`);
      const v = JSON.parse(kv.value.toString('utf8')) as Record<string, unknown>;
      const res = await this.retry(() => this.client.if(topicKey, 'Mod', '==', Number(kv.mod_revision))
        .then(this.client.put(topicKey).value(JSON.stringify({ ...v, config })))
        .commit());
      if (res.succeeded) {
        await this.awaitRevision(Number(res.header.revision));
        return;
      }
    }
    throw new TributaryError('ETCD_CONTENTION', `cannot update topic '${name}': too many concurrent changes`);
  }

  /**
   * All-or-nothing compare-and-swap of partition states: each stored state's partitionEpoch must be the
   * change's expectedPartitionEpoch (compared through the key's mod revision) and, if `controllerEpoch` is
   * given, the controller must still hold that epoch. False on any conflict.
   */
  async casPartitions(changes: PartitionChange[], controllerEpoch?: number): Promise<boolean> {
    if (changes.length === 0) return true;
    const keys = changes.map((c) => `partitions/${c.topic}/${c.partition}`);
    // The mod revision the expected epoch was stored at: from the image if it holds that epoch, else read again.
    const revisions: number[] = [];
    for (let i = 0; i < changes.length; i++) {
      const ch = changes[i]!;
      const known = this.state.partitions.get(ch.topic)?.get(ch.partition);
      const rev = this.state.modRevisions.get(keys[i]!);
      if (known && rev !== undefined && known.partitionEpoch === ch.expectedPartitionEpoch) {
        revisions.push(rev);
        continue;
      }
      const kv = (await this.retry(() => this.client.get(this.key(keys[i]!)).exec())).kvs[0];
      if (!kv) return false;
      const stored = parsePartition(kv.value.toString('utf8'));
      if (!stored || stored.partitionEpoch !== ch.expectedPartitionEpoch) return false;
      revisions.push(Number(kv.mod_revision));
    }
    const txn = () => {
      let t = this.client.if(this.key(keys[0]!), 'Mod', '==', revisions[0]!);
      for (let i = 1; i < keys.length; i++) t = t.and(this.key(keys[i]!), 'Mod', '==', revisions[i]!);
      if (controllerEpoch !== undefined) {
        t = t.and(this.key('controller'), 'Version', '>', 0).and(this.key('controller_epoch'), 'Value', '==', String(controllerEpoch));
      }
      return t.then(...changes.map((c, i) => this.client.put(this.key(keys[i]!)).value(partitionJson(c.next))));
    };
    // Retried after a lost answer, an applied change reads as a conflict (false): the caller re-reads the image.
    const res = await this.retry(() => commitTxn(txn(), `A change of ${changes.length} partitions`, changes.length));
    if (!res.succeeded) return false;
    await this.awaitRevision(Number(res.header.revision));
    return true;
  }

  /**
   * Read-modify-write of the dynamic broker configs of 'default' or a node id: `update` gets the stored set and
   * returns the new one (empty deletes the key; it may throw to refuse the change). Compare-and-swap on the key's
   * mod revision; on a conflict the key is read again and `update` applied again, so two brokers' concurrent
   * IncrementalAlterConfigs of one entity both take effect.
   */
  async updateBrokerConfig(entity: string, update: (stored: Readonly<Record<string, string>>) => Record<string, string>): Promise<void> {
    const key = this.key(`configs/brokers/${entity}`);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const kv = (await this.retry(() => this.client.get(key).exec())).kvs[0];
      let stored: Readonly<Record<string, string>> = {};
      try {
        if (kv) stored = stringRecord(JSON.parse(kv.value.toString('utf8')));
      } catch { /* malformed: replaced, as the image ignores it */ }
      const config = update(stored);
      // Mod revision 0: the key must still be absent.
      const modRev = kv ? Number(kv.mod_revision) : 0;
      const write = Object.keys(config).length === 0 ? this.client.delete().key(key) : this.client.put(key).value(JSON.stringify(config));
      // An attempt applied but unanswered reads as a conflict: `update` on our own result changes nothing more.
      const res = await this.retry(() => this.client.if(key, 'Mod', '==', modRev).then(write).commit());
      if (res.succeeded) {
        await this.awaitRevision(Number(res.header.revision));
        return;
      }
      await sleep(Math.floor(Math.random() * 10));
    }
    throw new TributaryError('ETCD_CONTENTION', `cannot update the dynamic configs of broker entity '${entity}': too many concurrent changes`);
  }

  /** Reserves `size` producer ids; returns the first. Compare-and-swap on next_block, so blocks never overlap. */
  async allocateProducerIdBlock(size: number): Promise<bigint> {
    if (!Number.isInteger(size) || size <= 0) throw new TributaryError('INVALID_ARGUMENT', `invalid producer id block size ${size}`);
    const key = this.key('producer_ids/next_block');
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const kv = (await this.retry(() => this.client.get(key).exec())).kvs[0];
      const start = kv ? BigInt(kv.value.toString('utf8')) : 0n;
      const modRev = kv ? Number(kv.mod_revision) : 0;
      const res = await this.retry(() => this.client.if(key, 'Mod', '==', modRev)
        .then(this.client.put(key).value((start + BigInt(size)).toString()))
        .commit());
      if (res.succeeded) return start;
      await sleep(Math.floor(Math.random() * 10));
    }
    throw new TributaryError('ETCD_CONTENTION', 'cannot allocate a producer id block: too many concurrent allocations');
  }

  /** The broker incarnations controllers have accounted for (`<p>/broker_incarnations`); empty if none are stored. */
  async readBrokerIncarnations(): Promise<ReadonlyMap<number, string>> {
    const kv = (await this.retry(() => this.client.get(this.key('broker_incarnations')).exec())).kvs[0];
    const out = new Map<number, string>();
    if (!kv) return out;
    try {
      for (const [id, incarnation] of Object.entries(JSON.parse(kv.value.toString('utf8')) as Record<string, unknown>)) {
        if (Number.isInteger(Number(id)) && typeof incarnation === 'string') out.set(Number(id), incarnation);
      }
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ignoring malformed broker incarnations in etcd');
    }
    return out;
  }

  /** Replaces the broker incarnations, fenced by the controller epoch as partition writes are; false if deposed. */
  async writeBrokerIncarnations(incarnations: ReadonlyMap<number, string>, controllerEpoch: number): Promise<boolean> {
    const value = JSON.stringify(Object.fromEntries([...incarnations].map(([id, incarnation]) => [String(id), incarnation])));
    const res = await this.retry(() => this.client.if(this.key('controller'), 'Version', '>', 0)
      .and(this.key('controller_epoch'), 'Value', '==', String(controllerEpoch))
      .then(this.client.put(this.key('broker_incarnations')).value(value))
      .commit());
    return res.succeeded;
  }

  // ---------------------------------------------------------------------------------------------------------

  /** Where the cluster's SCRAM credentials live: `<prefix>/scram/…` on this store's etcd client. */
  credentialBackend(): EtcdScramCredentialBackend {
    return new EtcdScramCredentialBackend(this.client, this.prefix);
  }

  /** Where the cluster's ACLs live: `<prefix>/acls/…` on this store's etcd client. */
  aclBackend(): EtcdAclBackend {
    return new EtcdAclBackend(this.client, this.prefix);
  }

  /** Where the cluster's client quotas live: `<prefix>/quotas/…` on this store's etcd client. */
  clientQuotaBackend(): EtcdClientQuotaBackend {
    return new EtcdClientQuotaBackend(this.client, this.prefix);
  }

  /**
   * Revokes another broker's lease, so that its registration (and its controller key) vanish now instead of at
   * the lease's expiry: for a broker known to be dead (its listener refuses connections; src/cluster/peer-watch.ts).
   * A lease that is gone already is not an error.
   */
  async revokeLease(leaseId: string): Promise<void> {
    if (leaseId === '0') return;
    try {
      await this.client.leaseClient.leaseRevoke({ ID: leaseId }, { deadline: Date.now() + 2000 });
    } catch (err) {
      if (!/not found/i.test((err as Error).message)) throw err;
    }
  }

  /** Stops the campaign, the watch and the keep-alive; revokes the lease so this broker's keys vanish at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.leaseCheck);
    if (this.campaigner) clearTimeout(this.campaigner.retryTimer);
    for (const w of this.watermarks) w.resolve();
    this.watermarks = [];
    // Bounded: cancelling a watch on a connection to a dead etcd would wait for the connection.
    if (this.watcher) await Promise.race([this.watcher.cancel().catch(() => undefined), sleep(1000)]);
    if (this.lease && !this.leaseLost) {
      await this.lease.revoke({ deadline: Date.now() + 2000 }).catch((err: Error) => this.log.warn({ err: err.message }, 'cannot revoke the etcd lease; it expires by itself'));
    }
    this.client.close();
  }
}

/** The listeners of a registration (written by registerBroker); malformed entries are dropped. */
function parseRegisteredListeners(raw: unknown[]): ListenerEndpoint[] {
  const out: ListenerEndpoint[] = [];
  for (const e of raw) {
    if (typeof e !== 'object' || e === null) continue;
    const r = e as Record<string, unknown>;
    const protocol = String(r.securityProtocol ?? '') as SecurityProtocol;
    if (typeof r.name !== 'string' || typeof r.host !== 'string' || !Number.isInteger(r.port) || !SECURITY_PROTOCOLS.includes(protocol)) continue;
    out.push(Object.freeze({ name: r.name, host: r.host, port: r.port as number, securityProtocol: protocol }));
  }
  return out;
}
