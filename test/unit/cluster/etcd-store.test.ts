import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { Etcd3 } from 'etcd3';
import { pino } from 'pino';
import { fileURLToPath } from 'node:url';
import { EtcdClusterStore } from '../../../src/cluster/etcd-store.js';
import type { MetadataImage, PartitionState } from '../../../src/cluster/metadata.js';
import { KafkaError } from '../../../src/errors.js';
import { createLogger } from '../../../src/logger.js';
import { startEtcdCluster, type EtcdProcess } from '../../helpers/etcd.js';
import { etcdStoreFixture } from '../../helpers/etcd-store-fixture.js';
import { until } from '../../helpers/cluster-settings.js';
import { startEtcd as startEtcdProcess } from '../../../src/cli/etcd-process.js';
import { freePortRange } from '../../helpers/port-range.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const logger = createLogger('silent');
const fx = etcdStoreFixture('t');
const freshPrefix = (): string => fx.freshPrefix();
const open = (prefix: string, endpoints?: string[]): Promise<EtcdClusterStore> => fx.open(prefix, { endpoints });

function reg(nodeId: number, incarnationId = `inc-${nodeId}`) {
  return { nodeId, host: '127.0.0.1', port: 9000 + nodeId, rack: null, incarnationId };
}

function partition(leader: number, partitionEpoch = 0): PartitionState {
  return { replicas: [1, 2], isr: [1, 2], leader, leaderEpoch: 0, partitionEpoch, addingReplicas: [], removingReplicas: [] };
}

function isKafkaError(name: string) {
  return (err: unknown) => err instanceof KafkaError && err.kafkaError === name;
}

test('connect to an unreachable etcd fails with a clear message', async () => {
  await assert.rejects(
    EtcdClusterStore.connect({ endpoints: ['http://127.0.0.1:1'], logger, dialTimeoutMs: 1000 }),
    /cannot reach etcd at http:\/\/127\.0\.0\.1:1/,
  );
});

test('the cluster id is created once; later proposals get the stored one', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  assert.equal(await a.ensureClusterId('first-id'), 'first-id');
  assert.equal(await b.ensureClusterId('second-id'), 'first-id');
  assert.equal(a.image().clusterId, 'first-id');
});

test('a registration shows in another store\'s image and expires within ~TTL after its process is killed -9', async () => {
  const prefix = freshPrefix();
  const observer = await open(prefix);
  const script = fileURLToPath(new URL('../../helpers/etcd-register-child.js', import.meta.url));
  const child = spawn(process.execPath, [script, fx.etcd.endpoint, '7', prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    await until('the child to register', () => out.includes('registered'), 10_000);
    const epoch = Number(/registered (\d+)/.exec(out)![1]);
    await until('the registration in the image', () => observer.image().brokers.has(7));
    const seen = observer.image().brokers.get(7)!;
    assert.equal(seen.brokerEpoch, epoch);
    assert.equal(seen.port, 9092);
    assert.equal(seen.shuttingDown, false);
    // The same id is refused while the child lives.
    const other = await open(prefix);
    await assert.rejects(other.registerBroker(reg(7)), isKafkaError('DUPLICATE_BROKER_REGISTRATION'));
    const killedAt = Date.now();
    child.kill('SIGKILL');
    await until('the registration to expire', () => !observer.image().brokers.has(7), 6000);
    const took = Date.now() - killedAt;
    assert.ok(took < 4500, `expired after ${took} ms`);
    // Now the id is free; the new registration has a larger broker epoch.
    const epoch2 = await other.registerBroker(reg(7));
    assert.ok(epoch2 > epoch);
  } finally {
    child.kill('SIGKILL');
  }
});

test('setShuttingDown and close: the registration says so, then vanishes at once (lease revoked)', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  await a.registerBroker(reg(1));
  await a.setShuttingDown();
  await until('shuttingDown in b', () => b.image().brokers.get(1)?.shuttingDown === true);
  await a.close();
  await until('registration gone', () => !b.image().brokers.has(1), 1000);
});

test('one controller of two candidates; the epoch grows on re-election after it closes; a deposed epoch is fenced', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  await a.registerBroker(reg(1));
  await b.registerBroker(reg(2));
  const elected: Array<[number, number]> = [];
  const deposed: number[] = [];
  a.campaign(1, (e) => elected.push([1, e]), () => deposed.push(1));
  b.campaign(2, (e) => elected.push([2, e]), () => deposed.push(2));
  await until('an election', () => elected.length > 0);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(elected.length, 1, JSON.stringify(elected));
  const [winner, epoch1] = elected[0]!;
  const [winStore, loseStore] = winner === 1 ? [a, b] : [b, a];
  await until('the controller in both images', () => a.image().controller?.epoch === epoch1 && b.image().controller?.epoch === epoch1);
  assert.equal(loseStore.image().controller!.nodeId, winner);

  await winStore.createTopic('t', { topicId: 'id-t', config: {} }, [partition(1)]);
  assert.equal(await winStore.casPartitions([{ topic: 't', partition: 0, expectedPartitionEpoch: 0, next: partition(2, 1) }], epoch1), true);

  await winStore.close();
  await until('re-election', () => elected.length === 2, 5000);
  const [winner2, epoch2] = elected[1]!;
  assert.notEqual(winner2, winner);
  assert.equal(epoch2, epoch1 + 1);
  await until('new controller in the image', () => loseStore.image().controller?.epoch === epoch2);
  // The old epoch cannot write any more, the new one can.
  const change = { topic: 't', partition: 0, expectedPartitionEpoch: 1, next: partition(1, 2) };
  assert.equal(await loseStore.casPartitions([change], epoch1), false);
  assert.equal(await loseStore.casPartitions([change], epoch2), true);
  assert.deepEqual(deposed, []);
});

test('a controller whose key is taken away is deposed and campaigns again', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  await a.registerBroker(reg(1));
  const elected: number[] = [];
  let deposedCount = 0;
  a.campaign(1, (e) => elected.push(e), () => { deposedCount++; });
  await until('elected', () => elected.length === 1);
  // An operator (or a bug) deletes the controller key: we are deposed, then re-elected with a new epoch.
  const admin = new Etcd3({ hosts: fx.etcd.endpoint });
  try {
    await admin.delete().key(`${prefix}/controller`);
  } finally {
    admin.close();
  }
  await until('re-elected', () => elected.length === 2);
  assert.equal(deposedCount, 1);
  assert.equal(elected[1], elected[0]! + 1);
});

test('casPartitions refuses a stale partitionEpoch, all-or-nothing', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  await a.createTopic('t', { topicId: 'x', config: {} }, [partition(1), partition(2)]);
  await until('b sees t', () => b.image().topics.has('t'));
  assert.equal(await a.casPartitions([{ topic: 't', partition: 0, expectedPartitionEpoch: 0, next: partition(2, 1) }]), true);
  // b's image may be stale; it still must not overwrite epoch 1 with a change based on epoch 0.
  assert.equal(await b.casPartitions([{ topic: 't', partition: 0, expectedPartitionEpoch: 0, next: partition(1, 1) }]), false);
  // One stale change spoils the whole batch.
  assert.equal(await b.casPartitions([
    { topic: 't', partition: 1, expectedPartitionEpoch: 0, next: partition(1, 1) },
    { topic: 't', partition: 0, expectedPartitionEpoch: 0, next: partition(1, 1) },
  ]), false);
  await until('b sees epoch 1', () => b.image().topics.get('t')!.partitions[0]!.partitionEpoch === 1);
  assert.equal(b.image().topics.get('t')!.partitions[1]!.partitionEpoch, 0);
  assert.equal(b.image().topics.get('t')!.partitions[0]!.leader, 2);
  // A missing partition is a conflict, not a crash.
  assert.equal(await b.casPartitions([{ topic: 'nope', partition: 0, expectedPartitionEpoch: 0, next: partition(1, 1) }]), false);
});

test('topics: create twice, add partitions, alter config, delete; another store\'s image follows, one image per revision', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  const images: MetadataImage[] = [];
  b.onImage((image, previous) => {
    assert.ok(image.revision > previous.revision);
    images.push(image);
  });
  await a.createTopic('orders', { topicId: 'id1', config: { 'cleanup.policy': 'compact' } }, [partition(1), partition(2)]);
  await assert.rejects(a.createTopic('orders', { topicId: 'id2', config: {} }, [partition(1)]),
    (err: unknown) => isKafkaError('TOPIC_ALREADY_EXISTS')(err) && (err as Error).message === "Topic 'orders' already exists.");
  await until('b sees orders', () => b.image().topics.has('orders'));
  // The topic and its partitions came in one transaction: one image, complete.
  const first = images.find((i) => i.topics.has('orders'))!;
  assert.equal(first.topics.get('orders')!.partitions.length, 2);
  assert.equal(first.topics.get('orders')!.config['cleanup.policy'], 'compact');

  await a.addPartitions('orders', [partition(1), partition(2)]);
  await until('4 partitions', () => b.image().topics.get('orders')?.partitions.length === 4);
  // A count that changed meanwhile is refused.
  await assert.rejects(a.addPartitions('orders', [partition(1)], 2), isKafkaError('INVALID_PARTITIONS'));

  await a.updateTopicConfig('orders', { 'retention.ms': '1000' });
  await until('config', () => b.image().topics.get('orders')?.config['retention.ms'] === '1000');
  assert.equal(b.image().topics.get('orders')!.topicId, 'id1');
  assert.equal(b.image().topics.get('orders')!.config['cleanup.policy'], undefined);

  await a.updateBrokerConfig('default', () => ({ 'log.retention.ms': '5' }));
  await until('broker config', () => b.image().brokerConfigs.get('default')?.['log.retention.ms'] === '5');

  const before = b.image();
  await a.deleteTopic('orders');
  await until('deleted', () => !b.image().topics.has('orders'));
  assert.ok(before.topics.has('orders'), 'an old image is not changed');
  await assert.rejects(a.deleteTopic('orders'), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));
  await assert.rejects(a.updateTopicConfig('orders', {}), isKafkaError('UNKNOWN_TOPIC_OR_PARTITION'));
  for (let i = 1; i < images.length; i++) assert.ok(images[i]!.revision > images[i - 1]!.revision);
});

test('producer id blocks from two stores at once never overlap', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  const size = 1000;
  const starts = await Promise.all([...Array(20)].map((_, i) => (i % 2 === 0 ? a : b).allocateProducerIdBlock(size)));
  const sorted = [...starts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  assert.equal(sorted[0], 0n);
  for (let i = 1; i < sorted.length; i++) assert.equal(sorted[i]! - sorted[i - 1]!, BigInt(size));
});

test('broker configs: concurrent read-modify-writes of one entity through two stores all take effect; a refused update writes nothing; an empty set deletes the key', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const b = await open(prefix);
  let calls = 0;
  // Twelve incremental SETs of different keys at once, half through each store: each re-reads and re-applies on a
  // conflict (a plain put of the set it read would keep only some of them).
  const set = (store: EtcdClusterStore, k: string) => store.updateBrokerConfig('1', (stored) => {
    calls++;
    return { ...stored, [k]: 'v' };
  });
  const keys = Array.from({ length: 12 }, (_, i) => `k${i}`);
  await Promise.all(keys.map((k, i) => set(i % 2 === 0 ? a : b, k)));
  await until('both images hold every key', () => [a, b].every((s) => Object.keys(s.image().brokerConfigs.get('1') ?? {}).length === keys.length));
  assert.deepEqual(Object.keys(a.image().brokerConfigs.get('1')!).sort(), [...keys].sort());
  assert.ok(calls > keys.length, `no conflict was retried (${calls} calls)`);
  const revision = a.image().revision;
  await assert.rejects(a.updateBrokerConfig('1', () => { throw new KafkaError('INVALID_REQUEST', 'no'); }), isKafkaError('INVALID_REQUEST'));
  assert.equal(a.image().revision, revision);
  await a.updateBrokerConfig('1', () => ({}));
  await until('the key deleted', () => !b.image().brokerConfigs.has('1'));
});

test('broker incarnations: kept for the next controller, written only under the current controller epoch', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  assert.equal((await a.readBrokerIncarnations()).size, 0);
  await a.registerBroker(reg(1));
  let epoch = 0;
  a.campaign(1, (e) => { epoch = e; }, () => undefined);
  await until('elected', () => epoch > 0);
  assert.equal(await a.writeBrokerIncarnations(new Map([[1, 'life-a'], [2, 'life-b']]), epoch), true);
  assert.equal(await a.writeBrokerIncarnations(new Map([[1, 'stale']]), epoch + 1), false, 'another epoch is fenced');
  const b = await open(prefix);
  assert.deepEqual([...await b.readBrokerIncarnations()], [[1, 'life-a'], [2, 'life-b']]);
});

test('with a 3-member etcd, killing one member keeps the store working', async () => {
  const cluster = await startEtcdCluster(3);
  try {
    const prefix = freshPrefix();
    const endpoints = cluster.endpoints.split(',');
    const a = await open(prefix, endpoints);
    const b = await open(prefix, endpoints);
    await a.registerBroker(reg(1));
    let lost = false;
    a.onLeaseLost(() => { lost = true; });
    await a.createTopic('t', { topicId: 'x', config: {} }, [partition(1)]);
    // Kill the etcd leader (the harder case) and write at once: the store retries through the others' election.
    const leader = await leaderOf(cluster.members);
    leader.kill();
    await leader.exited;
    await a.createTopic('u', { topicId: 'y', config: {} }, [partition(1)]);
    assert.equal(await a.casPartitions([{ topic: 't', partition: 0, expectedPartitionEpoch: 0, next: partition(2, 1) }]), true);
    await until('b sees u and the change', () => b.image().topics.has('u') && b.image().topics.get('t')!.partitions[0]!.leader === 2, 8000);
    // The lease outlives a few keep-alive periods.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(lost, false);
    assert.ok(b.image().brokers.has(1));
    await a.close();
    await until('a\'s registration gone', () => !b.image().brokers.has(1), 1000);
  } finally {
    await cluster.stop();
  }
});

test('an etcd that stops answering for longer than the TTL: the lease is lost, the controller deposed, the image kept; a new registration works after', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  await a.registerBroker(reg(1));
  await a.createTopic('kept', { topicId: 'k', config: {} }, [partition(1)]);
  let elected = 0;
  let deposed = 0;
  a.campaign(1, () => { elected++; }, () => { deposed++; });
  await until('elected', () => elected === 1);
  const lost: Error[] = [];
  a.onLeaseLost((err) => lost.push(err));
  const stoppedAt = Date.now();
  fx.etcd.kill('SIGSTOP');
  try {
    await until('lease lost', () => lost.length === 1, 5000);
  } finally {
    fx.etcd.kill('SIGCONT');
  }
  const took = Date.now() - stoppedAt;
  assert.ok(took >= 1900 && took < 3500, `lost after ${took} ms`);
  assert.equal(deposed, 1);
  assert.ok(a.image().topics.has('kept'), 'the image stays');
  // Fenced broker comes back: a new lease, a new broker epoch, and the campaign resumes under it.
  await until('old registration expired', () => !a.image().brokers.has(1), 5000);
  await a.registerBroker(reg(1, 'inc-again'));
  await until('re-elected', () => elected === 2, 5000);
  assert.equal(a.image().brokers.get(1)!.incarnationId, 'inc-again');
});

test('registering again after etcd restarted: the store revokes its own stale registration (etcd renewed that lease on restart) instead of waiting it out', async () => {
  // Its own etcd, restarted on the same ports and data (a SIGSTOPped etcd would expire the old lease on SIGCONT).
  const dir = await mkdtemp(join(tmpdir(), 'tributary-etcd-restart-'));
  const own = await startEtcdProcess({ dataDir: join(dir, 'data'), clientPort: await freePortRange(2), logFile: join(dir, 'etcd.log') });
  const prefix = freshPrefix();
  const a = await open(prefix, [own.endpoint]);
  let check: EtcdClusterStore | null = null;
  try {
    await a.registerBroker(reg(7));
    const lost: Error[] = [];
    a.onLeaseLost((err) => lost.push(err));
    own.kill('SIGKILL');
    await own.exited();
    await until('lease lost', () => lost.length === 1, 5000);
    await own.restart();
    const backAt = Date.now();
    // As the broker does (cluster-mode's loop): attempts while the client reconnects fail as unreachable.
    // Without the revoke an attempt gets DUPLICATE_BROKER_REGISTRATION (the old registration lives ~TTL more).
    for (;;) {
      try {
        await a.registerBroker(reg(7, 'inc-7-again'));
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== 'ETCD_UNREACHABLE' || Date.now() - backAt > 10_000) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(Date.now() - backAt < 8000, `registered again ${Date.now() - backAt} ms after etcd was back`);
    check = await open(prefix, [own.endpoint]);
    assert.equal(check.image().brokers.get(7)?.incarnationId, 'inc-7-again');
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(lost.length, 1, `lost again: ${lost.map((e) => e.message).join('; ')}`);
    assert.equal(check.image().brokers.get(7)?.incarnationId, 'inc-7-again');
  } finally {
    await a.close();
    await check?.close();
    await own.stop(1000);
    await rm(dir, { recursive: true, force: true });
  }
});

test('registering again through a stopped etcd: the grant that waited through the outage is not counted against the new lease', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  try {
    await a.registerBroker(reg(8));
    const lost: Error[] = [];
    a.onLeaseLost((err) => lost.push(err));
    fx.etcd.kill('SIGSTOP');
    let again: Promise<number>;
    try {
      await until('lease lost', () => lost.length === 1, 5000);
      // Sent while etcd is stopped: the grant is answered only after SIGCONT, ~1.5 s after it was sent.
      again = a.registerBroker(reg(8, 'inc-8-again'));
      again.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      fx.etcd.kill('SIGCONT');
    }
    await again;
    // Without the renewal after the grant the new lease was declared lost at once (TTL counted from the send).
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(lost.length, 1, `lost again: ${lost.map((e) => e.message).join('; ')}`);
  } finally {
    await a.close();
  }
});

/** The member etcd's members agree leads (polled until they do, bounded). */
async function leaderOf(members: EtcdProcess[]): Promise<EtcdProcess> {
  const deadline = Date.now() + 5000;
  for (;;) {
    for (const m of members) {
      const client = new Etcd3({ hosts: m.endpoint });
      try {
        const status = await client.maintenance.status({ deadline: Date.now() + 500 });
        if (status.leader !== '0' && status.leader === status.header.member_id) return m;
      } catch { /* not answering (yet) */ } finally {
        client.close();
      }
    }
    if (Date.now() > deadline) throw new Error('no etcd leader');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A TCP proxy in front of etcd that the test can cut (every connection dropped, new ones refused) and restore. */
async function cuttableProxy(target: string): Promise<{ endpoint: string; cut(): void; restore(): Promise<void>; close(): Promise<void> }> {
  const { hostname, port } = new URL(target);
  const sockets = new Set<Socket>();
  let server: Server;
  let listenPort = 0;
  const listen = async (): Promise<void> => {
    server = createServer((client) => {
      const upstream = createConnection(Number(port), hostname);
      sockets.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      const drop = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream); };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
    });
    server.listen(listenPort, '127.0.0.1');
    await once(server, 'listening');
    listenPort = (server.address() as { port: number }).port;
  };
  await listen();
  return {
    endpoint: `http://127.0.0.1:${listenPort}`,
    cut() {
      server.close();
      for (const s of sockets) s.destroy();
    },
    restore: listen,
    async close() {
      server.close();
      for (const s of sockets) s.destroy();
    },
  };
}

test('a watch whose revision was compacted while etcd was unreachable reloads the image and keeps following', async () => {
  const prefix = freshPrefix();
  const proxy = await cuttableProxy(fx.etcd.endpoint);
  const admin = new Etcd3({ hosts: fx.etcd.endpoint });
  try {
    const a = await open(prefix);
    const warnings: string[] = [];
    const warnLogger = pino({ level: 'warn' }, { write: (line: string) => { warnings.push(line); } });
    const b = await EtcdClusterStore.connect({ endpoints: [proxy.endpoint], prefix, leaseTtlSeconds: 2, logger: warnLogger });
    fx.onCleanup(() => b.close());
    await a.createTopic('before', { topicId: 'b', config: {} }, [partition(1)]);
    await until('b sees before', () => b.image().topics.has('before'));
    const images: MetadataImage[] = [];
    b.onImage((image) => images.push(image));
    proxy.cut();
    // While b cannot reach etcd: changes, then a compaction past them, so b's watch cannot resume where it was.
    await a.deleteTopic('before');
    await a.createTopic('during', { topicId: 'd', config: {} }, [partition(1), partition(2)]);
    const rev = Number((await admin.get('x').exec()).header.revision);
    await admin.kv.compact({ revision: String(rev), physical: true });
    assert.ok(b.image().topics.has('before'), 'the image stays while etcd is unreachable');
    await proxy.restore();
    await until('b reloads', () => b.image().topics.has('during') && !b.image().topics.has('before'), 8000);
    assert.equal(b.image().topics.get('during')!.partitions.length, 2);
    assert.ok(warnings.some((w) => w.includes('reloading the metadata image')), warnings.join(''));
    // It keeps following after the reload.
    await a.createTopic('after', { topicId: 'a', config: {} }, [partition(1)]);
    await until('b sees after', () => b.image().topics.has('after'));
    for (let i = 1; i < images.length; i++) assert.ok(images[i]!.revision > images[i - 1]!.revision);
  } finally {
    admin.close();
    await proxy.close();
  }
});

test('a topic of 1500 partitions: one transaction, and a new store loads it over several range pages at one revision', async () => {
  const prefix = freshPrefix();
  const a = await open(prefix);
  const parts = [...Array(1500)].map((_, i) => partition(i % 2));
  await a.createTopic('big', { topicId: 'big', config: {} }, parts);
  await assert.rejects(a.createTopic('bad/name', { topicId: 'x', config: {} }, []), isKafkaError('INVALID_TOPIC_EXCEPTION'));
  const b = await open(prefix);
  const big = b.image().topics.get('big')!;
  assert.equal(big.partitions.length, 1500);
  assert.equal(big.partitions[1499]!.leader, 1);
});
