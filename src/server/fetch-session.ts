/**
 * Incremental fetch sessions (KIP-227). A full fetch with epoch 0 creates a session that remembers each
 * partition's fetch offset, byte limit and the values last sent; later fetches with the next epoch send only
 * what changed and get back only partitions with news (records, a moved high watermark / log start / last
 * stable offset, or an error). The cache is bounded by max.incremental.fetch.session.cache.slots; the least
 * recently used session is evicted when it is full.
 */
import { KafkaError } from '../errors.js';

export interface SessionPartition {
  topic: string;
  topicId: string;
  partition: number;
  fetchOffset: number;
  maxBytes: number;
  currentLeaderEpoch: number;
  /** Last values sent to the client, to decide what an incremental response must include. */
  lastHighWatermark: number;
  lastLogStartOffset: number;
  lastStableOffset: number;
}

export class FetchSession {
  /** The epoch the next request in this session must carry. */
  nextEpoch = 1;
  lastUsed = 0;
  readonly partitions = new Map<string, SessionPartition>();
  constructor(readonly id: number) {}
}

export const partitionKey = (topicIdOrName: string, partition: number): string => `${topicIdOrName}:${partition}`;

export class FetchSessionCache {
  private readonly sessions = new Map<number, FetchSession>();
  private nextId = 1;

  constructor(private readonly maxSlots: number, private readonly now: () => number) {}

  /** Creates a session, or returns null when the cache holds no slots (the fetch then runs sessionless). */
  create(): FetchSession | null {
    if (this.maxSlots <= 0) return null;
    if (this.sessions.size >= this.maxSlots) {
      let oldest: FetchSession | undefined;
      for (const s of this.sessions.values()) if (!oldest || s.lastUsed < oldest.lastUsed) oldest = s;
      if (oldest) this.sessions.delete(oldest.id);
    }
    let id = this.nextId;
    while (this.sessions.has(id) || id <= 0) id = id >= 0x7fffffff ? 1 : id + 1;
    this.nextId = id >= 0x7fffffff ? 1 : id + 1;
    const session = new FetchSession(id);
    session.lastUsed = this.now();
    this.sessions.set(id, session);
    return session;
  }

  /** The session for an incremental fetch; checks the epoch and advances it. */
  use(id: number, epoch: number): FetchSession {
    const session = this.sessions.get(id);
    if (!session) throw new KafkaError('FETCH_SESSION_ID_NOT_FOUND', `Fetch session ${id} not found`);
    if (epoch !== session.nextEpoch) {
      throw new KafkaError('INVALID_FETCH_SESSION_EPOCH', `Fetch session ${id} expected epoch ${session.nextEpoch}, got ${epoch}`);
    }
    session.nextEpoch = session.nextEpoch >= 0x7fffffff ? 1 : session.nextEpoch + 1;
    session.lastUsed = this.now();
    return session;
  }

  /** The session with this id, as it is (no epoch check or advance): for tools and tests. */
  peek(id: number): FetchSession | undefined {
    return this.sessions.get(id);
  }

  /** The ids of the cached sessions, least recently created first. */
  ids(): number[] {
    return [...this.sessions.keys()];
  }

  remove(id: number): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }
}
