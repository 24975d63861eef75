/**
 * A three-broker cluster whose brokers talk to each other over TLS (inter.broker.listener.name=SSL), clients on
 * PLAINTEXT: acks=all needs the followers' replica fetches, which go over the SSL listener, so a produce that is
 * acknowledged and an ISR of three show that replication works through TLS (with a truststore that does not
 * trust the brokers' CA the produce times out instead).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { makeTestCerts, type TestCerts } from '../../helpers/certs.js';

let certs: TestCerts;
let cluster: InProcessCluster;

before(async () => {
  certs = makeTestCerts();
  cluster = new InProcessCluster('cluster-ssl', {
    listeners: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    'inter.broker.listener.name': 'SSL',
    'ssl.keystore.location': certs.serverKeystore,
    'ssl.truststore.location': certs.caCert,
  });
  await cluster.open([1, 2, 3]);
});

after(async () => {
  await cluster?.close();
  certs?.remove();
});

test('replication between brokers over an SSL inter-broker listener: acks=all answered, ISR of three', async () => {
  const plaintext = [...cluster.brokers.values()].map((b) => b.listeners.find((l) => l.name === 'PLAINTEXT')!).map((l) => `127.0.0.1:${l.port}`).join(',');
  const admin = new Admin({ bootstrapServers: plaintext });
  try {
    await until('three brokers', async () => (await admin.describeCluster()).brokers.length === 3);
    await admin.createTopics([{ name: 'over-tls', numPartitions: 2, replicationFactor: 3, configs: { 'min.insync.replicas': '3' } }]);
    const producer = new Producer({ bootstrapServers: plaintext, acks: 'all', deliveryTimeoutMs: 30_000 });
    try {
      for (let i = 0; i < 50; i++) await producer.send({ topic: 'over-tls', partition: i % 2, value: `v${i}` });
    } finally {
      await producer.close();
    }
    const [t] = await admin.describeTopics(['over-tls']);
    for (const p of t!.partitions) assert.deepEqual([...p.isr].sort(), [1, 2, 3], `partition ${p.partition} ISR`);
  } finally {
    await admin.close();
  }
});
