import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { isSensitiveConfig } from '../../../src/server/audit-changes.js';

const readEvents = (path: string): any[] =>
  existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l)) : [];

/** Waits (bounded) until the audit file holds an event matching `pred`; returns it. */
async function waitForEvent(path: string, pred: (e: any) => boolean, what: string): Promise<any> {
  for (let i = 0; i < 200; i++) {
    const found = readEvents(path).find(pred);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`no audit event: ${what}`);
}

describe('audit change events from the admin handlers (single node)', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let admin: Admin;
  let auditFile: string;
  const op = (operation: string, name?: string) => (e: any): boolean => e.type === 'change' && e.operation === operation && (name === undefined || e.resource?.name === name);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-audit-changes-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'audit.log.max.bytes': 1_000_000 } });
    auditFile = join(dataDir, 'audit', 'audit.log');
    admin = new Admin({ bootstrapServers: broker.address, clientId: 'audit-admin', retries: 1, retryBackoffMs: 10 });
    await admin.connect();
  });
  after(async () => {
    await admin.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('CreateTopics: who, from where, what, result; a failure carries the error name', async () => {
    await admin.createTopics([{ name: 'orders', numPartitions: 2, configs: { 'retention.ms': '3600000' } }]);
    const e = await waitForEvent(auditFile, op('CreateTopics', 'orders'), 'CreateTopics orders');
    assert.equal(e.principal, 'User:ANONYMOUS');
    assert.equal(e.clientHost, '127.0.0.1');
    assert.equal(e.listener, 'PLAINTEXT');
    assert.equal(e.clientId, 'audit-admin');
    assert.equal(e.nodeId, broker.nodeId);
    assert.match(e.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual(e.resource, { type: 'TOPIC', name: 'orders' });
    assert.equal(e.result, 'success');
    assert.equal(e.error, undefined);
    assert.equal(e.details.numPartitions, 2);
    assert.deepEqual(e.details.configs, { 'retention.ms': '3600000' });

    await assert.rejects(admin.createTopics([{ name: 'orders', numPartitions: 1 }]));
    const failed = await waitForEvent(auditFile, (x) => op('CreateTopics', 'orders')(x) && x.result === 'failure', 'CreateTopics failure');
    assert.equal(failed.error, 'TOPIC_ALREADY_EXISTS');
  });

  test('secrets are masked: config values of sensitive keys never reach the file', async () => {
    await admin.createTopics([{ name: 'leaky', numPartitions: 1, configs: { 'sasl.jaas.config': 'org.apache.kafka.common.security.plain.PlainLoginModule required password="hunter2";' } }]).catch(() => undefined);
    const e = await waitForEvent(auditFile, op('CreateTopics', 'leaky'), 'CreateTopics leaky');
    assert.equal(e.details.configs['sasl.jaas.config'], '[hidden]');
    await admin.incrementalAlterConfigs([{ type: 'broker', name: '', ops: [{ name: 'listener.name.plaintext.ssl.key.password', op: 'set', value: 'hunter3' }] }]).catch(() => undefined);
    const b = await waitForEvent(auditFile, (x) => op('IncrementalAlterConfigs', '')(x) && x.resource.type === 'BROKER', 'IncrementalAlterConfigs broker');
    assert.deepEqual(b.details.configs, [{ name: 'listener.name.plaintext.ssl.key.password', op: 'SET', value: '[hidden]' }]);
    const text = readFileSync(auditFile, 'utf8');
    assert.ok(!text.includes('hunter2') && !text.includes('hunter3'), 'no secret in the audit file');
    for (const k of ['ssl.key.password', 'listener.name.x.ssl.keystore.password', 'sasl.jaas.config', 'listener.name.x.scram-sha-256.sasl.jaas.config', 'ssl.keystore.key', 'sasl.oauthbearer.client.secret']) {
      assert.ok(isSensitiveConfig(k), k);
    }
    for (const k of ['retention.ms', 'ssl.keystore.location', 'cleanup.policy']) assert.ok(!isSensitiveConfig(k), k);
  });

  test('CreatePartitions, DeleteRecords, IncrementalAlterConfigs (topic, group), AlterConfigs', async () => {
    await admin.createPartitions([{ topic: 'orders', count: 3 }]);
    const cp = await waitForEvent(auditFile, op('CreatePartitions', 'orders'), 'CreatePartitions');
    assert.equal(cp.result, 'success');
    assert.equal(cp.details.count, 3);

    const producer = new Producer({ bootstrapServers: broker.address });
    try {
      for (let i = 0; i < 3; i++) await producer.send({ topic: 'orders', partition: 0, value: `v${i}` });
    } finally {
      await producer.close();
    }
    await admin.deleteRecords([{ topic: 'orders', partition: 0, offset: 2 }]);
    const dr = await waitForEvent(auditFile, op('DeleteRecords', 'orders'), 'DeleteRecords');
    assert.equal(dr.result, 'success');
    assert.deepEqual(dr.details.partitions, [{ partition: 0, offset: '2', lowWatermark: '2' }]);

    await admin.incrementalAlterConfigs([{ type: 'topic', name: 'orders', ops: [{ name: 'retention.ms', op: 'set', value: '7200000' }, { name: 'cleanup.policy', op: 'append', value: 'compact' }] }]);
    const ia = await waitForEvent(auditFile, op('IncrementalAlterConfigs', 'orders'), 'IncrementalAlterConfigs topic');
    assert.deepEqual(ia.resource, { type: 'TOPIC', name: 'orders' });
    assert.deepEqual(ia.details.configs, [{ name: 'retention.ms', op: 'SET', value: '7200000' }, { name: 'cleanup.policy', op: 'APPEND', value: 'compact' }]);

    await admin.incrementalAlterConfigs([{ type: 'group', name: 'g1', ops: [{ name: 'consumer.session.timeout.ms', op: 'set', value: '50000' }] }]);
    const ig = await waitForEvent(auditFile, (x) => op('IncrementalAlterConfigs', 'g1')(x), 'IncrementalAlterConfigs group');
    assert.deepEqual([ig.resource, ig.result], [{ type: 'GROUP', name: 'g1' }, 'success']);

    await admin.replaceConfigs([{ type: 'topic', name: 'orders', configs: { 'retention.ms': '1000' } }]);
    const ac = await waitForEvent(auditFile, op('AlterConfigs', 'orders'), 'AlterConfigs');
    assert.deepEqual(ac.details.configs, { 'retention.ms': '1000' });
    await assert.rejects(admin.replaceConfigs([{ type: 'topic', name: 'orders', configs: { 'retention.ms': 'soon' } }]));
    const bad = await waitForEvent(auditFile, (x) => op('AlterConfigs', 'orders')(x) && x.result === 'failure', 'AlterConfigs failure');
    assert.equal(bad.error, 'INVALID_CONFIG');
  });

  test('AlterUserScramCredentials: user and mechanism, never the salt or password', async () => {
    await admin.alterUserScramCredentials([{ user: 'alice', mechanism: 'SCRAM-SHA-256', password: 'alice-pw-secret', iterations: 4096 }]);
    const e = await waitForEvent(auditFile, op('AlterUserScramCredentials', 'alice'), 'AlterUserScramCredentials');
    assert.deepEqual(e.resource, { type: 'USER', name: 'alice' });
    assert.deepEqual(e.details, { upserted: [{ mechanism: 'SCRAM-SHA-256', iterations: 4096 }] });
    const text = readFileSync(auditFile, 'utf8');
    assert.ok(!text.includes('alice-pw-secret') && !/salt/i.test(text));
  });

  test('OffsetDelete and DeleteGroups', async () => {
    await admin.alterGroupOffsets('g2', [{ topic: 'orders', partition: 1, offset: 0 }]);
    await admin.deleteGroupOffsets('g2', [{ topic: 'orders', partition: 1 }]);
    const od = await waitForEvent(auditFile, op('OffsetDelete', 'g2'), 'OffsetDelete');
    assert.deepEqual([od.resource.type, od.result], ['GROUP', 'success']);
    assert.deepEqual(od.details.partitions, [{ topic: 'orders', partition: 1 }]);
    await admin.deleteGroups(['g2']);
    const dg = await waitForEvent(auditFile, op('DeleteGroups', 'g2'), 'DeleteGroups');
    assert.equal(dg.result, 'success');
    await assert.rejects(admin.deleteGroups(['no-such-group']));
    const missing = await waitForEvent(auditFile, op('DeleteGroups', 'no-such-group'), 'DeleteGroups failure');
    assert.equal(missing.error, 'GROUP_ID_NOT_FOUND');
  });

  test('AlterPartitionReassignments and ElectLeaders', async () => {
    await admin.alterPartitionReassignments([{ topic: 'orders', partition: 0, replicas: [broker.nodeId] }]);
    const ar = await waitForEvent(auditFile, op('AlterPartitionReassignments', 'orders'), 'AlterPartitionReassignments');
    assert.deepEqual(ar.details.partitions, [{ partition: 0, replicas: [broker.nodeId] }]);
    await admin.alterPartitionReassignments([{ topic: 'orders', partition: 1, replicas: [broker.nodeId + 5] }]).catch(() => undefined);
    const arBad = await waitForEvent(auditFile, (x) => op('AlterPartitionReassignments', 'orders')(x) && x.result === 'failure', 'AlterPartitionReassignments failure');
    assert.equal(arBad.error, 'INVALID_REPLICA_ASSIGNMENT');
    await admin.electLeaders('PREFERRED', [{ topic: 'orders', partition: 0 }]).catch(() => undefined);
    const el = await waitForEvent(auditFile, op('ElectLeaders', 'orders'), 'ElectLeaders');
    assert.equal(el.result, 'success');
    assert.deepEqual(el.details, { electionType: 'PREFERRED', partitions: [{ partition: 0, error: 'ELECTION_NOT_NEEDED' }] });
  });

  test('DeleteTopics, then a clean shutdown: the last event is on disk when close() resolves', async () => {
    await admin.deleteTopics(['orders']);
    await admin.close();
    await broker.close();
    const events = readEvents(auditFile);
    const del = events.find(op('DeleteTopics', 'orders'));
    assert.ok(del, 'DeleteTopics recorded');
    assert.equal(del.result, 'success');
    // Reopen for after(): the next broker appends to the same file.
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent' });
    admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    await admin.connect();
  });
});

describe('audit log on a full disk (ENOSPC) and the audit topic', () => {
  test('the broker keeps serving, warns once, and counts what it drops; the topic still gets the events', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-audit-full-'));
    const auditDir = join(dataDir, 'full-audit');
    mkdirSync(auditDir);
    symlinkSync('/dev/full', join(auditDir, 'audit.log'));
    const lines: any[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logger, config: { 'audit.log.dir': auditDir, 'audit.log.topic': 'audit-events' } });
    const admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
    try {
      await admin.connect();
      for (let i = 0; i < 5; i++) await admin.createTopics([{ name: `t${i}`, numPartitions: 1 }]);
      const producer = new Producer({ bootstrapServers: broker.address });
      try {
        await producer.send({ topic: 't0', value: 'still serving' });
      } finally {
        await producer.close();
      }
      for (let i = 0; i < 100 && !lines.some((l) => l.code === 'ENOSPC'); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(lines.filter((l) => /audit log: cannot write/.test(l.msg)).length, 1, JSON.stringify(lines));
      assert.equal(lines.find((l) => /audit log: cannot write/.test(l.msg)).code, 'ENOSPC');
      // The audit topic (created on the first event, cleanup.policy=delete) has all five CreateTopics events.
      const consumer = new Consumer({ bootstrapServers: broker.address, groupId: 'audit-reader', autoOffsetReset: 'earliest' });
      const seen: any[] = [];
      try {
        await consumer.subscribe(['audit-events']);
        for (let i = 0; i < 100 && seen.length < 5; i++) {
          for (const r of await consumer.poll(100)) seen.push(JSON.parse(r.value!.toString()));
        }
      } finally {
        await consumer.close();
      }
      assert.deepEqual(seen.filter((e) => e.operation === 'CreateTopics').map((e) => e.resource.name), ['t0', 't1', 't2', 't3', 't4']);
      assert.equal(broker.context.topics.get('audit-events')?.config['cleanup.policy'], 'delete');
    } finally {
      await admin.close();
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
