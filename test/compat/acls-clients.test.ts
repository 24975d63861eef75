/**
 * Real clients against a broker with the authorizer, principals from TLS client certificates (CN=alice,
 * CN=bob, CN=admin through ssl.principal.mapping.rules): kafkajs's admin creates, describes and deletes ACLs
 * (CreateAcls/DescribeAcls/DeleteAcls as another implementation encodes them); kcat (librdkafka) as alice
 * produces and consumes, as bob is refused with "Topic authorization failed"; kafkajs as bob gets
 * TOPIC_AUTHORIZATION_FAILED.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import kafkajsModule, { Kafka, logLevel } from 'kafkajs';
import { startBroker, type RunningBroker } from '../../src/server/broker.js';
import { makeTestCerts, type TestCerts } from '../helpers/certs.js';
import { run } from './support/processes.js';

// CommonJS: the ACL enums are properties of the module object, not named exports.
const { AclResourceTypes, AclOperationTypes, AclPermissionTypes, ResourcePatternTypes } = kafkajsModule;

describe('real clients and ACLs over SSL with client certificates', () => {
  let certs: TestCerts;
  let dataDir: string;
  let broker: RunningBroker;
  let address: string;
  let files: Map<string, { cert: string; key: string }>;

  const kafkajs = (cn: string): Kafka => new Kafka({
    clientId: `acl-${cn}`, brokers: [address], logLevel: logLevel.NOTHING, retry: { retries: 0 },
    ssl: { ca: [certs.read(certs.caCert)], cert: certs.read(files.get(cn)!.cert), key: certs.read(files.get(cn)!.key) },
  });
  const kcatFlags = (cn: string): string[] => ['-b', address, '-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.caCert}`,
    '-X', `ssl.certificate.location=${files.get(cn)!.cert}`, '-X', `ssl.key.location=${files.get(cn)!.key}`];

  before(async () => {
    certs = makeTestCerts();
    files = new Map<string, { cert: string; key: string }>([['alice', { cert: certs.clientCert, key: certs.clientKey }], ['bob', certs.newClientCert('bob')], ['admin', certs.newClientCert('admin')]]);
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-acl-compat-'));
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: {
        'num.partitions': '1',
        listeners: 'SSL://127.0.0.1:0',
        'ssl.keystore.location': certs.serverKeystore,
        'ssl.truststore.location': certs.caCert,
        'ssl.client.auth': 'required',
        'ssl.principal.mapping.rules': 'RULE:^CN=([^,]*),.*$/$1/,DEFAULT',
        'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
        'super.users': 'User:admin',
      },
    });
    address = `127.0.0.1:${broker.port}`;
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    certs?.remove();
  });

  test('kafkajs admin: createAcls, describeAcls, deleteAcls', async () => {
    const admin = kafkajs('admin').admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });
      const entry = { resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.LITERAL, host: '*', permissionType: AclPermissionTypes.ALLOW };
      await admin.createAcls({ acl: [
        { ...entry, principal: 'User:alice', operation: AclOperationTypes.ALL },
        { ...entry, resourceType: AclResourceTypes.GROUP, resourceName: 'kcat-', resourcePatternType: ResourcePatternTypes.PREFIXED, principal: 'User:alice', operation: AclOperationTypes.READ },
        { ...entry, principal: 'User:bob', operation: AclOperationTypes.DESCRIBE },
        { ...entry, principal: 'User:temp', operation: AclOperationTypes.READ },
      ] });
      const described = await admin.describeAcls({
        resourceType: AclResourceTypes.TOPIC, resourceName: 'orders', resourcePatternType: ResourcePatternTypes.LITERAL,
        operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      });
      assert.deepEqual(described.resources.flatMap((r) => r.acls.map((a) => `${a.principal}:${a.operation}`)).sort(),
        [`User:alice:${AclOperationTypes.ALL}`, `User:bob:${AclOperationTypes.DESCRIBE}`, `User:temp:${AclOperationTypes.READ}`]);
      const deleted = await admin.deleteAcls({ filters: [{
        resourceType: AclResourceTypes.ANY, resourcePatternType: ResourcePatternTypes.ANY, principal: 'User:temp',
        operation: AclOperationTypes.ANY, permissionType: AclPermissionTypes.ANY,
      }] });
      assert.equal(deleted.filterResponses[0]!.matchingAcls.length, 1);
    } finally {
      await admin.disconnect();
    }
  });

  test('kcat: alice produces and consumes; bob is refused', async () => {
    await run('kcat', [...kcatFlags('alice'), '-P', '-t', 'orders', '-K', ':'], { input: 'a:1\nb:2\n', timeoutMs: 30_000 });
    const out = await run('kcat', [...kcatFlags('alice'), '-C', '-t', 'orders', '-o', 'beginning', '-e', '-q', '-f', '%k=%s\\n'], { timeoutMs: 30_000 });
    assert.deepEqual(out.stdout.split('\n').filter(Boolean), ['a=1', 'b=2']);
    const denied = await run('kcat', [...kcatFlags('bob'), '-P', '-t', 'orders', '-K', ':'], { input: 'x:1\n', timeoutMs: 30_000 }).then(
      (r) => `${r.stdout}${r.stderr}`, (err: Error) => err.message);
    assert.match(denied, /Topic authorization failed/i);
    const consumed = await run('kcat', [...kcatFlags('bob'), '-C', '-t', 'orders', '-o', 'beginning', '-e', '-q'], { timeoutMs: 30_000 }).then(
      (r) => `${r.stdout}${r.stderr}`, (err: Error) => err.message);
    assert.match(consumed, /Topic authorization failed/i);
  });

  test('kafkajs as bob: TOPIC_AUTHORIZATION_FAILED on produce', async () => {
    const producer = kafkajs('bob').producer();
    await producer.connect();
    try {
      await assert.rejects(producer.send({ topic: 'orders', messages: [{ value: 'x' }] }), (err: Error & { type?: string }) => {
        assert.match(`${err.type ?? ''} ${err.message}`, /TOPIC_AUTHORIZATION_FAILED|not authorized/i);
        return true;
      });
    } finally {
      await producer.disconnect();
    }
  });
});
