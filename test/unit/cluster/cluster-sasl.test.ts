/**
 * A three-broker cluster whose brokers talk to each other over SASL_SSL with SCRAM-SHA-512
 * (inter.broker.listener.name=SASL_SSL, the broker's own username/password in the listener's JAAS config, as
 * Kafka's brokers authenticate) and an authorizer with the brokers' principal as the super user: acks=all with
 * min.insync.replicas=3 is answered only if the followers' replica fetches authenticate and are authorized
 * (CLUSTER_ACTION), and a client principal without ACLs is refused while the brokers replicate.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';
import { plainJaas } from '../../helpers/sasl.js';

let certs: TestCerts;
let cluster: InProcessCluster;
const SCRAM_JAAS = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";';

before(async () => {
  certs = makeTestCerts();
  cluster = new InProcessCluster('cluster-sasl', {
    listeners: 'ADMIN://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    'listener.security.protocol.map': 'ADMIN:SASL_PLAINTEXT,SASL_SSL:SASL_SSL',
    'inter.broker.listener.name': 'SASL_SSL',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': SCRAM_JAAS,
    'listener.name.admin.sasl.enabled.mechanisms': 'PLAIN',
    'listener.name.admin.plain.sasl.jaas.config': plainJaas({ admin: 'admin-secret', bob: 'bob-secret' }),
    'ssl.keystore.location': certs.serverKeystore,
    'ssl.truststore.location': certs.caCert,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:admin;User:broker',
  });
  await cluster.open([1, 2, 3]);
});

after(async () => {
  await cluster?.close();
  certs?.remove();
});

test('replication between brokers over SASL_SSL/SCRAM-SHA-512 with ACLs: acks=all answered, ISR of three; an unauthorized client refused', async () => {
  const admins = [...cluster.brokers.values()].map((b) => `127.0.0.1:${b.listeners.find((l) => l.name === 'ADMIN')!.port}`).join(',');
  const sasl = (user: string) => ({ mechanism: 'PLAIN' as const, username: user, password: `${user}-secret` });
  const admin = new Admin({ bootstrapServers: admins, sasl: sasl('admin') });
  try {
    // The brokers' own SCRAM credential, before any replica fetch can authenticate.
    await until('three brokers', async () => (await admin.describeCluster()).brokers.length === 3);
    await admin.alterUserScramCredentials([{ user: 'broker', mechanism: 'SCRAM-SHA-512', password: 'broker-secret' }]);
    await admin.createTopics([{ name: 'over-sasl', numPartitions: 2, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } }]);
    const producer = new Producer({ bootstrapServers: admins, sasl: sasl('admin'), acks: 'all', deliveryTimeoutMs: 30_000 });
    try {
      for (let i = 0; i < 50; i++) await producer.send({ topic: 'over-sasl', partition: i % 2, value: `v${i}` });
    } finally {
      await producer.close();
    }
    const [t] = await admin.describeTopics(['over-sasl']);
    for (const p of t!.partitions) assert.deepEqual([...p.isr].sort(), [1, 2, 3], `partition ${p.partition} ISR`);
    const bob = new Producer({ bootstrapServers: admins, sasl: sasl('bob'), acks: 'all', retries: 0, deliveryTimeoutMs: 5_000 });
    try {
      // Idempotent by default: InitProducerId needs IDEMPOTENT_WRITE or WRITE on some topic, which bob lacks.
      await assert.rejects(bob.send({ topic: 'over-sasl', partition: 0, value: 'x' }), /CLUSTER_AUTHORIZATION_FAILED/);
    } finally {
      await bob.close();
    }
  } finally {
    await admin.close();
  }
});
