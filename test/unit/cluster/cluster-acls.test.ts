/**
 * ACLs in a cluster live in etcd (`<prefix>/acls/…`): an ACL created through one broker is enforced by the other
 * at once (its watch), and one deleted through the other stops applying on the first. The cluster runs with
 * allow.everyone.if.no.acl.found=true, so its own PLAINTEXT traffic (User:ANONYMOUS) is served until an ACL
 * names a resource.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { InProcessCluster } from '../../helpers/in-process-cluster.js';
import { until } from '../../helpers/cluster-settings.js';
import { RawClient } from '../../helpers/raw-client.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';

describe('ACLs shared by a two-broker cluster through etcd', () => {
  const cluster = new InProcessCluster('cluster-acls', {
    'authorizer.class.name': 'kafka.security.authorizer.AclAuthorizer',
    'allow.everyone.if.no.acl.found': 'true',
  });
  const metadataError = async (id: number, topic: string): Promise<number> => {
    const c = await RawClient.connect(cluster.brokers.get(id)!.address);
    try {
      const res = await c.send(3, 12, { topics: [{ name: topic, topicId: '00000000-0000-0000-0000-000000000000' }], allowAutoTopicCreation: false });
      return res.topics[0].errorCode;
    } finally {
      c.close();
    }
  };

  before(async () => cluster.open([1, 2]));
  after(async () => cluster.close());

  test('created via broker 1, enforced by broker 2; deleted via broker 2, lifted on broker 1', async () => {
    assert.equal(await metadataError(2, 'secret'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    const via1 = new Admin({ bootstrapServers: cluster.brokers.get(1)!.address, retries: 0 });
    const via2 = new Admin({ bootstrapServers: cluster.brokers.get(2)!.address, retries: 0 });
    try {
      const created = await via1.createAcls([{ resourceType: 'TOPIC', resourceName: 'secret', principal: 'User:*', operation: 'DESCRIBE', permissionType: 'DENY' }]);
      assert.equal(created[0]!.error, null);
      await until('broker 2 enforces the ACL', async () => (await metadataError(2, 'secret')) === ErrorCode.TOPIC_AUTHORIZATION_FAILED, 5000);
      assert.equal(await metadataError(1, 'secret'), ErrorCode.TOPIC_AUTHORIZATION_FAILED);
      assert.equal(await metadataError(2, 'public'), ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
      assert.deepEqual((await via2.describeAcls()).map((b) => `${b.principal} ${b.operation} ${b.permissionType} ${b.resourceType}:${b.resourceName}`), ['User:* DESCRIBE DENY TOPIC:secret']);
      const deleted = await via2.deleteAcls([{ resourceType: 'TOPIC', resourceName: 'secret' }]);
      assert.equal(deleted[0]!.deleted.length, 1);
      await until('broker 1 lifts it', async () => (await metadataError(1, 'secret')) === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, 5000);
    } finally {
      await via1.close();
      await via2.close();
    }
  });
});
