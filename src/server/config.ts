/**
 * Broker configuration: Kafka's key names and defaults, parsed from a server.properties-style file and
 * `--set key=value` overrides. A bad value stops start-up with a message naming the key, the value and
 * what is allowed. Unknown keys are reported (as Kafka does) and otherwise ignored.
 */
import { readFileSync } from 'node:fs';
import { TributaryError } from '../errors.js';

export class ConfigError extends TributaryError {
  constructor(message: string) {
    super('ERR_CONFIG', message);
  }
}

type Kind = 'int' | 'long' | 'double' | 'boolean' | 'string' | 'list';
export interface Def {
  kind: Kind;
  default: string | null;
  min?: number;
  max?: number;
  oneOf?: readonly string[];
}

const INT_MAX = 2147483647;
const LONG_MAX = '9223372036854775807';

/** The broker keys Tributary understands. Topic-level defaults (log.*) are passed on to storage. */
export const brokerConfigDefs: Readonly<Record<string, Def>> = {
  'node.id': { kind: 'int', default: '1', min: 0 },
  'broker.id': { kind: 'int', default: null, min: 0 },
  'listeners': { kind: 'list', default: 'PLAINTEXT://127.0.0.1:9092' },
  'advertised.listeners': { kind: 'list', default: null },
  // Listeners and TLS (src/server/listeners.ts, tls.ts); ssl.* keys also apply per listener as listener.name.<name>.ssl.*.
  'listener.security.protocol.map': { kind: 'list', default: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT,SASL_SSL:SASL_SSL' },
  'inter.broker.listener.name': { kind: 'string', default: null },
  'security.inter.broker.protocol': { kind: 'string', default: null, oneOf: ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] },
  'ssl.keystore.type': { kind: 'string', default: 'PEM', oneOf: ['PEM'] },
  'ssl.keystore.location': { kind: 'string', default: null },
  'ssl.keystore.certificate.chain': { kind: 'string', default: null },
  'ssl.keystore.key': { kind: 'string', default: null },
  'ssl.key.password': { kind: 'string', default: null },
  'ssl.truststore.type': { kind: 'string', default: 'PEM', oneOf: ['PEM'] },
  'ssl.truststore.location': { kind: 'string', default: null },
  'ssl.truststore.certificates': { kind: 'string', default: null },
  'ssl.client.auth': { kind: 'string', default: 'none', oneOf: ['none', 'requested', 'required'] },
  'ssl.enabled.protocols': { kind: 'list', default: 'TLSv1.2,TLSv1.3', oneOf: ['TLSv1.2', 'TLSv1.3'] },
  'ssl.cipher.suites': { kind: 'list', default: null },
  'ssl.principal.mapping.rules': { kind: 'string', default: 'DEFAULT' },
  // The audit log (server/audit-trail.ts): JSON lines in <audit.log.dir>/audit.log, rotated by size, keeping
  // audit.log.max.files files; audit.log.dir defaults to <data dir>/audit; audit.log.topic ("" = none) gets every event too.
  'audit.log.enable': { kind: 'boolean', default: 'true' },
  'audit.log.dir': { kind: 'string', default: null },
  'audit.log.max.bytes': { kind: 'long', default: '104857600', min: 1 },
  'audit.log.max.files': { kind: 'int', default: '10', min: 1 },
  'audit.log.topic': { kind: 'string', default: '' },
  // Authorization (src/server/authorization.ts): Kafka's standard authorizer when a class name is set.
  'authorizer.class.name': { kind: 'string', default: '' },
  'super.users': { kind: 'string', default: null },
  'allow.everyone.if.no.acl.found': { kind: 'boolean', default: 'false' },
  // SASL listeners (src/server/sasl/); each also per listener as listener.name.<name>.*. Kafka's default mechanism
  // list is GSSAPI, which Tributary lacks: ours is the two SCRAM mechanisms. PLAIN's users come from its JAAS config.
  'sasl.enabled.mechanisms': { kind: 'list', default: 'SCRAM-SHA-256,SCRAM-SHA-512' },
  'sasl.jaas.config': { kind: 'string', default: null },
  // A JAAS login file (KafkaServer sections), which Kafka takes as a JVM system property of that name.
  'java.security.auth.login.config': { kind: 'string', default: null },
  'sasl.server.max.receive.size': { kind: 'int', default: '524288', min: 1 },
  'connections.max.reauth.ms': { kind: 'long', default: '0', min: 0 },
  // A failed authentication is answered (and the connection closed) only after this delay, against password guessing.
  'connection.failed.authentication.delay.ms': { kind: 'int', default: '100', min: 0 },
  'sasl.mechanism.inter.broker.protocol': { kind: 'string', default: null },
  // OAUTHBEARER (src/server/sasl/oauthbearer.ts): JWTs validated against this JWKS (KIP-768's broker-side keys).
  'sasl.oauthbearer.jwks.endpoint.url': { kind: 'string', default: null },
  'sasl.oauthbearer.jwks.endpoint.refresh.ms': { kind: 'long', default: '3600000', min: 0 },
  'sasl.oauthbearer.jwks.endpoint.retry.backoff.ms': { kind: 'long', default: '100', min: 0 },
  'sasl.oauthbearer.clock.skew.seconds': { kind: 'int', default: '30', min: 0 },
  'sasl.oauthbearer.expected.audience': { kind: 'list', default: null },
  'sasl.oauthbearer.expected.issuer': { kind: 'string', default: null },
  'sasl.oauthbearer.sub.claim.name': { kind: 'string', default: 'sub' },
  'sasl.oauthbearer.scope.claim.name': { kind: 'string', default: 'scope' },
  'log.dirs': { kind: 'string', default: null },
  'log.dir': { kind: 'string', default: './data' },
  'auto.create.topics.enable': { kind: 'boolean', default: 'true' },
  'delete.topic.enable': { kind: 'boolean', default: 'true' },
  'num.partitions': { kind: 'int', default: '1', min: 1 },
  'default.replication.factor': { kind: 'int', default: '1', min: 1 },
  // The cluster (docs/CLUSTER.md): etcd holds the metadata; without etcd.connect the broker is a single node.
  'etcd.connect': { kind: 'list', default: null },
  'etcd.prefix': { kind: 'string', default: '/tributary' },
  // How long a broker's etcd lease outlives its last keep-alive (KRaft's key; Kafka's default is 9000: ours is
  // shorter so that a dead leader is replaced within about two seconds).
  'broker.session.timeout.ms': { kind: 'int', default: '2000', min: 1000 },
  'offsets.topic.replication.factor': { kind: 'int', default: '3', min: 1 },
  'transaction.state.log.replication.factor': { kind: 'int', default: '3', min: 1 },
  'transaction.state.log.min.isr': { kind: 'int', default: '2', min: 1 },
  'replica.lag.time.max.ms': { kind: 'long', default: '30000', min: 1 },
  'replica.fetch.wait.max.ms': { kind: 'int', default: '500', min: 0 },
  'replica.fetch.max.bytes': { kind: 'int', default: '1048576', min: 0 },
  'replica.fetch.response.max.bytes': { kind: 'int', default: '10485760', min: 0 },
  'replica.fetch.backoff.ms': { kind: 'int', default: '1000', min: 0 },
  // KIP-73 replication throttles (bytes/s, dynamic): follower side applied by the replica fetchers.
  'leader.replication.throttled.rate': { kind: 'long', default: LONG_MAX, min: 0 },
  'follower.replication.throttled.rate': { kind: 'long', default: LONG_MAX, min: 0 },
  'auto.leader.rebalance.enable': { kind: 'boolean', default: 'true' },
  'leader.imbalance.check.interval.seconds': { kind: 'long', default: '300', min: 1 },
  'leader.imbalance.per.broker.percentage': { kind: 'int', default: '10', min: 0 },
  'controlled.shutdown.enable': { kind: 'boolean', default: 'true' },
  'socket.request.max.bytes': { kind: 'int', default: '104857600', min: 1 },
  'message.max.bytes': { kind: 'int', default: '1048588', min: 0 },
  'fetch.max.bytes': { kind: 'int', default: '57671680', min: 1024 },
  'connections.max.idle.ms': { kind: 'long', default: '600000' },
  'max.connections': { kind: 'int', default: String(INT_MAX), min: 0 },
  // Connection limits and client quotas (server/connection-quotas.ts, client-quota-manager.ts); max.connections
  // and max.connection.creation.rate also apply per listener as listener.name.<name>.*.
  'max.connections.per.ip': { kind: 'int', default: String(INT_MAX), min: 0 },
  'max.connections.per.ip.overrides': { kind: 'string', default: '' },
  'max.connection.creation.rate': { kind: 'int', default: String(INT_MAX), min: 0 },
  'quota.window.num': { kind: 'int', default: '11', min: 1 },
  'quota.window.size.seconds': { kind: 'int', default: '1', min: 1 },
  'controller.quota.window.num': { kind: 'int', default: '11', min: 1 },
  'controller.quota.window.size.seconds': { kind: 'int', default: '1', min: 1 },
  'queued.max.requests': { kind: 'int', default: '500', min: 1 },
  // The Prometheus endpoint (src/metrics/): off unless metrics.port is set (0 picks a free port), loopback by default.
  'metrics.port': { kind: 'int', default: null, min: 0, max: 65535 },
  'metrics.host': { kind: 'string', default: '127.0.0.1' },
  'max.incremental.fetch.session.cache.slots': { kind: 'int', default: '1000', min: 0 },
  'log.segment.bytes': { kind: 'int', default: '1073741824', min: 14 },
  'log.roll.ms': { kind: 'long', default: null, min: 1 },
  'log.roll.hours': { kind: 'int', default: '168', min: 1 },
  'log.retention.ms': { kind: 'long', default: null, min: -1 },
  'log.retention.minutes': { kind: 'int', default: null, min: -1 },
  'log.retention.hours': { kind: 'int', default: '168', min: -1 },
  'log.retention.bytes': { kind: 'long', default: '-1' },
  'log.retention.check.interval.ms': { kind: 'long', default: '300000', min: 1 },
  'log.flush.interval.messages': { kind: 'long', default: LONG_MAX, min: 1 },
  'log.flush.interval.ms': { kind: 'long', default: null, min: 0 },
  'log.flush.scheduler.interval.ms': { kind: 'long', default: LONG_MAX },
  'log.index.interval.bytes': { kind: 'int', default: '4096', min: 0 },
  'log.index.size.max.bytes': { kind: 'int', default: '10485760', min: 4 },
  // Tributary's own: at most this many segment .log descriptors open at once in the process, least recently used
  // closed first (src/storage/log-segment.ts, SegmentDescriptors). Unset: 3/4 of the open-file limit.
  'log.segment.descriptors.max': { kind: 'int', default: null, min: 1 },
  'log.message.timestamp.type': { kind: 'string', default: 'CreateTime', oneOf: ['CreateTime', 'LogAppendTime'] },
  'log.message.timestamp.before.max.ms': { kind: 'long', default: LONG_MAX, min: 0 },
  'log.message.timestamp.after.max.ms': { kind: 'long', default: '3600000', min: 0 },
  'log.cleanup.policy': { kind: 'list', default: 'delete', oneOf: ['delete', 'compact'] },
  'log.segment.delete.delay.ms': { kind: 'long', default: '60000', min: 0 },
  // The log cleaner (compaction) and the broker defaults of the topic-level compaction keys.
  'log.cleaner.enable': { kind: 'boolean', default: 'true' },
  'log.cleaner.threads': { kind: 'int', default: '1', min: 0 },
  'log.cleaner.dedupe.buffer.size': { kind: 'long', default: '134217728', min: 0 },
  'log.cleaner.io.buffer.size': { kind: 'int', default: '524288', min: 0 },
  'log.cleaner.io.buffer.load.factor': { kind: 'double', default: '0.9', min: 0, max: 1 },
  'log.cleaner.io.max.bytes.per.second': { kind: 'double', default: '1.7976931348623157E308', min: 0 },
  'log.cleaner.backoff.ms': { kind: 'long', default: '15000', min: 0 },
  'log.cleaner.delete.retention.ms': { kind: 'long', default: '86400000', min: 0 },
  'log.cleaner.min.cleanable.ratio': { kind: 'double', default: '0.5', min: 0, max: 1 },
  'log.cleaner.min.compaction.lag.ms': { kind: 'long', default: '0', min: 0 },
  'log.cleaner.max.compaction.lag.ms': { kind: 'long', default: LONG_MAX, min: 1 },
  'compression.type': { kind: 'string', default: 'producer', oneOf: ['uncompressed', 'zstd', 'lz4', 'snappy', 'gzip', 'producer'] },
  'min.insync.replicas': { kind: 'int', default: '1', min: 1 },
  'unclean.leader.election.enable': { kind: 'boolean', default: 'false' },
  'unstable.api.versions.enable': { kind: 'boolean', default: 'false' },
  // Group coordinator (classic groups) and __consumer_offsets.
  'offsets.topic.num.partitions': { kind: 'int', default: '50', min: 1 },
  'offsets.topic.segment.bytes': { kind: 'int', default: '104857600', min: 1 },
  'offsets.retention.minutes': { kind: 'int', default: '10080', min: 1 },
  'offsets.retention.check.interval.ms': { kind: 'long', default: '600000', min: 1 },
  'offset.metadata.max.bytes': { kind: 'int', default: '4096', min: 0 },
  'group.initial.rebalance.delay.ms': { kind: 'int', default: '3000', min: 0 },
  'group.min.session.timeout.ms': { kind: 'int', default: '6000', min: 0 },
  'group.max.session.timeout.ms': { kind: 'int', default: '1800000', min: 0 },
  'group.max.size': { kind: 'int', default: String(INT_MAX), min: 1 },
  // KIP-848 consumer groups (ConsumerGroupHeartbeat).
  'group.consumer.session.timeout.ms': { kind: 'int', default: '45000', min: 1 },
  'group.consumer.heartbeat.interval.ms': { kind: 'int', default: '5000', min: 1 },
  'group.consumer.max.size': { kind: 'int', default: String(INT_MAX), min: 1 },
  'group.consumer.assignors': { kind: 'list', default: 'uniform,range', oneOf: ['uniform', 'range'] },
  // Bounds for the per-group overrides (GROUP config resource: consumer.session.timeout.ms, consumer.heartbeat.interval.ms).
  'group.consumer.min.session.timeout.ms': { kind: 'int', default: '45000', min: 1 },
  'group.consumer.max.session.timeout.ms': { kind: 'int', default: '60000', min: 1 },
  'group.consumer.min.heartbeat.interval.ms': { kind: 'int', default: '5000', min: 1 },
  'group.consumer.max.heartbeat.interval.ms': { kind: 'int', default: '15000', min: 1 },
  // The rack of this broker, hence of every partition replica (rack-aware server-side assignment).
  'broker.rack': { kind: 'string', default: null },
  'producer.id.expiration.ms': { kind: 'int', default: '86400000', min: 1 },
  'producer.id.expiration.check.interval.ms': { kind: 'int', default: '600000', min: 1 },
  // Transaction coordinator and __transaction_state.
  'transaction.max.timeout.ms': { kind: 'int', default: '900000', min: 1 },
  'transactional.id.expiration.ms': { kind: 'int', default: '604800000', min: 1 },
  'transaction.abort.timed.out.transaction.cleanup.interval.ms': { kind: 'int', default: '10000', min: 1 },
  'transaction.remove.expired.transaction.cleanup.interval.ms': { kind: 'int', default: '3600000', min: 1 },
  'transaction.state.log.num.partitions': { kind: 'int', default: '50', min: 1 },
  'transaction.state.log.segment.bytes': { kind: 'int', default: '104857600', min: 1 },
};

export type BrokerConfig = Map<string, string>;

/** Validates one broker value against its definition; returns it trimmed. Throws ConfigError. */
export function checkValue(key: string, value: string, def: Def): string {
  const fail = (allowed: string): never => {
    throw new ConfigError(`Invalid value "${value}" for configuration ${key}: ${allowed}`);
  };
  const v = value.trim();
  switch (def.kind) {
    case 'int':
    case 'long': {
      if (!/^-?\d+$/.test(v)) fail(`expected ${def.kind === 'int' ? 'an integer' : 'a long integer'}`);
      const n = Number(v);
      if (def.kind === 'int' && (n > INT_MAX || n < -INT_MAX - 1)) fail('expected a 32-bit integer');
      if (def.min !== undefined && n < def.min) fail(`value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) fail(`value must be at most ${def.max}`);
      return v;
    }
    case 'double': {
      const n = Number(v);
      if (v === '' || Number.isNaN(n)) fail('expected a number');
      if (def.min !== undefined && n < def.min) fail(`value must be at least ${def.min}`);
      if (def.max !== undefined && n > def.max) fail(`value must be at most ${def.max}`);
      return v;
    }
    case 'boolean':
      if (v !== 'true' && v !== 'false') fail('expected true or false');
      return v;
    case 'list':
    case 'string':
      if (def.oneOf) {
        const items = def.kind === 'list' ? v.split(',').map((s) => s.trim()) : [v];
        for (const item of items) if (!def.oneOf.includes(item)) fail(`allowed values are ${def.oneOf.join(', ')}`);
      }
      return v;
  }
}

/** Parses server.properties text: `key=value` or `key: value` lines, `#`/`!` comments, backslash continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i]!.trim();
    const m = /^([^=:\s]+)\s*[=:\s]\s*(.*)$/.exec(line);
    if (!m) throw new ConfigError(`Cannot parse configuration line ${i + 1}: "${line}" (expected key=value)`);
    out.set(m[1]!, m[2]!);
  }
  return out;
}

export interface ConfigSources {
  file?: string;
  overrides?: Record<string, string | number | boolean>;
}

export interface ResolvedBrokerConfig {
  values: BrokerConfig;
  /** Keys set by the file or overrides (DescribeConfigs reports them as STATIC_BROKER_CONFIG). */
  explicitKeys: ReadonlySet<string>;
  unknownKeys: string[];
}

/** Merges defaults < file < overrides, validating every value. Throws ConfigError on the first bad one. */
export function resolveBrokerConfig(sources: ConfigSources): ResolvedBrokerConfig {
  const given = new Map<string, string>();
  if (sources.file) {
    let text: string;
    try {
      text = readFileSync(sources.file, 'utf8');
    } catch (err) {
      throw new ConfigError(`Cannot read config file ${sources.file}: ${(err as Error).message}`);
    }
    for (const [k, v] of parseProperties(text)) given.set(k, v);
  }
  for (const [k, v] of Object.entries(sources.overrides ?? {})) given.set(k, String(v));

  const values: BrokerConfig = new Map();
  for (const [key, def] of Object.entries(brokerConfigDefs)) if (def.default !== null) values.set(key, def.default);
  const unknownKeys: string[] = [];
  for (const [key, value] of given) {
    const def = brokerConfigDefs[key];
    if (!def) {
      // Per-listener overrides (listener.name.<name>.ssl.*) are checked when the listener starts.
      if (!key.startsWith('listener.name.')) unknownKeys.push(key);
      values.set(key, value);
      continue;
    }
    values.set(key, checkValue(key, value, def));
  }
  if (given.has('broker.id') && !given.has('node.id')) values.set('node.id', given.get('broker.id')!);
  return { values, explicitKeys: new Set(given.keys()), unknownKeys };
}

export function getInt(cfg: BrokerConfig, key: string): number {
  const v = cfg.get(key);
  if (v === undefined) throw new ConfigError(`Missing configuration ${key}`);
  return Number(v);
}
