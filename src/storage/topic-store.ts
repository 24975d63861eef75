/**
 * Durable topic metadata of this (single-node) cluster.
 *
 * Files in the data directory:
 *   meta.properties   Kafka's format, written once: `cluster.id=<22-char base64url uuid>`, `node.id=<n>`,
 *                     `version=1`, after `#` comment lines. The cluster id lives only here.
 *   topics.json       {"version":1,"topics":[{"name","topicId","partitions","config":{key:value}}]}
 *                     topicId is a uuid string (8-4-4-4-12 hex); config holds only the topic's overrides.
 *   topics.json.tmp   an interrupted save: ignored and removed on open.
 * Both files are replaced atomically (temp file, fsync, rename, directory fsync), so after a crash either the
 * old or the new content is there, never a mix.
 *
 * Concurrency: putTopic/deleteTopic change memory synchronously; save() persists everything changed before the
 * call. Saves never overlap: a save requested while one is writing waits and then writes the newest state,
 * and every caller waiting at that moment shares that one write.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TributaryError } from '../errors.js';
import { tempPathOf, writeFileAtomic, writeFileAtomicSync } from './file-io.js';

export const META_PROPERTIES_FILE = 'meta.properties';
export const TOPICS_FILE = 'topics.json';

export interface TopicRecord {
  name: string;
  topicId: string;
  partitions: number;
  config: Record<string, string>;
}

/** Metadata on disk is unreadable or belongs to another node/cluster. */
export class TopicStoreError extends TributaryError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * A random Kafka Uuid in Kafka's string form (22 chars of unpadded base64url). Like Kafka, never the reserved
 * zero/one uuids and never starting with '-' (it would read as a command-line flag).
 */
export function randomKafkaUuid(): string {
  for (;;) {
    const bytes = randomBytes(16);
    const s = bytes.toString('base64url');
    const reserved = bytes.subarray(0, 15).every((b) => b === 0) && bytes[15]! <= 1;
    if (!reserved && !s.startsWith('-')) return s;
  }
}

export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

function checkRecord(t: unknown, file: string): TopicRecord {
  const r = t as TopicRecord;
  const ok =
    typeof r === 'object' && r !== null &&
    typeof r.name === 'string' && r.name !== '' &&
    typeof r.topicId === 'string' &&
    Number.isInteger(r.partitions) && r.partitions > 0 &&
    typeof r.config === 'object' && r.config !== null &&
    Object.values(r.config).every((v) => typeof v === 'string');
  if (!ok) throw new TopicStoreError('ERR_TOPIC_STORE_CORRUPT', `${file}: malformed topic entry ${JSON.stringify(t)}`);
  return { name: r.name, topicId: r.topicId, partitions: r.partitions, config: { ...r.config } };
}

export class TopicStore {
  private readonly byName = new Map<string, TopicRecord>();
  private inflight: Promise<void> | null = null;
  private pending: Promise<void> | null = null;

  private constructor(
    readonly dataDir: string,
    readonly clusterId: string,
    readonly nodeId: number,
    topics: TopicRecord[],
  ) {
    for (const t of topics) this.byName.set(t.name, t);
  }

  /**
   * Reads (or initialises) the data directory's metadata. `nodeId` defaults to the stored one (else 1); a
   * different stored node.id is an error, as in Kafka.
   */
  static open(dataDir: string, opts: { nodeId?: number; clusterId?: string } = {}): TopicStore {
    fs.mkdirSync(dataDir, { recursive: true });
    const metaFile = path.join(dataDir, META_PROPERTIES_FILE);
    const topicsFile = path.join(dataDir, TOPICS_FILE);
    for (const f of [metaFile, topicsFile]) fs.rmSync(tempPathOf(f), { force: true });

    let clusterId: string;
    let nodeId: number;
    if (fs.existsSync(metaFile)) {
      const props = parseProperties(fs.readFileSync(metaFile, 'utf8'));
      const storedCluster = props.get('cluster.id');
      const storedNode = Number(props.get('node.id'));
      if (!storedCluster || !Number.isInteger(storedNode)) {
        throw new TopicStoreError('ERR_META_PROPERTIES_CORRUPT', `${metaFile} lacks cluster.id or node.id`);
      }
      if (opts.nodeId !== undefined && opts.nodeId !== storedNode) {
        throw new TopicStoreError(
          'ERR_NODE_ID_MISMATCH',
          `Stored node id ${storedNode} in ${metaFile} does not match configured node id ${opts.nodeId}`,
        );
      }
      if (opts.clusterId !== undefined && opts.clusterId !== storedCluster) {
        throw new TopicStoreError(
          'ERR_CLUSTER_ID_MISMATCH',
          `The Cluster ID ${opts.clusterId} doesn't match stored clusterId ${storedCluster} in ${metaFile}. The broker is trying to join the wrong cluster: check --etcd and --etcd-prefix, or give it an empty data directory.`,
        );
      }
      clusterId = storedCluster;
      nodeId = storedNode;
    } else {
      clusterId = opts.clusterId ?? randomKafkaUuid();
      nodeId = opts.nodeId ?? 1;
      writeFileAtomicSync(
        metaFile,
        `#\n#${new Date().toUTCString()}\ncluster.id=${clusterId}\nnode.id=${nodeId}\nversion=1\n`,
      );
    }

    const topics: TopicRecord[] = [];
    if (fs.existsSync(topicsFile)) {
      let doc: { version?: unknown; topics?: unknown };
      try {
        doc = JSON.parse(fs.readFileSync(topicsFile, 'utf8')) as typeof doc;
      } catch (err) {
        throw new TopicStoreError('ERR_TOPIC_STORE_CORRUPT', `${topicsFile} is not valid JSON`, { cause: err });
      }
      if (doc.version !== 1 || !Array.isArray(doc.topics)) {
        throw new TopicStoreError('ERR_TOPIC_STORE_CORRUPT', `${topicsFile}: unsupported version or no topic list`);
      }
      for (const t of doc.topics) topics.push(checkRecord(t, topicsFile));
    }
    return new TopicStore(dataDir, clusterId, nodeId, topics);
  }

  /** Copies of all topic records, in creation order. */
  topics(): TopicRecord[] {
    return [...this.byName.values()].map((t) => ({ ...t, config: { ...t.config } }));
  }

  getTopic(name: string): TopicRecord | undefined {
    const t = this.byName.get(name);
    return t && { ...t, config: { ...t.config } };
  }

  /** Adds or replaces a topic in memory; call save() to persist. */
  putTopic(t: TopicRecord): void {
    this.byName.set(t.name, { name: t.name, topicId: t.topicId, partitions: t.partitions, config: { ...t.config } });
  }

  /** Removes a topic in memory; call save() to persist. Returns whether it existed. */
  deleteTopic(name: string): boolean {
    return this.byName.delete(name);
  }

  /** Persists the state as of this call (or later) atomically. */
  save(): Promise<void> {
    if (this.pending) return this.pending;
    // .then() runs asynchronously, so `pending` is set before the snapshot is taken.
    const p = (this.inflight ?? Promise.resolve()).catch(() => {}).then(() => {
      this.pending = null;
      const write = this.write();
      this.inflight = write;
      return write.finally(() => {
        if (this.inflight === write) this.inflight = null;
      });
    });
    this.pending = p;
    return p;
  }

  private write(): Promise<void> {
    const doc = { version: 1, topics: [...this.byName.values()] };
    return writeFileAtomic(path.join(this.dataDir, TOPICS_FILE), JSON.stringify(doc, null, 2) + '\n');
  }
}
