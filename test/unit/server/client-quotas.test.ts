import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { singleNodeAdmin } from '../../helpers/single-node-admin.js';
import { RawClient } from '../../helpers/raw-client.js';
import { CLIENT_QUOTAS_FILE } from '../../../src/security/client-quotas.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import type { AuditEvent } from '../../../src/security/audit.js';

const API_VERSIONS = 18, DESCRIBE_CLIENT_QUOTAS = 48, ALTER_CLIENT_QUOTAS = 49;

describe('client quota APIs on a single node', () => {
  const audit: AuditEvent[] = [];
  const node = singleNodeAdmin('tributary-quotas-', (broker) => {
    (broker.context as { audit: unknown }).audit = { record: (e: AuditEvent) => audit.push(e) };
  });

  test('ApiVersions advertises both APIs at v0-1', async () => {
    const raw = await RawClient.connect(node.broker.address);
    try {
      const res = await raw.send(API_VERSIONS, 3, { clientSoftwareName: 'raw', clientSoftwareVersion: '1' });
      for (const key of [DESCRIBE_CLIENT_QUOTAS, ALTER_CLIENT_QUOTAS]) {
        const k = res.apiKeys.find((a: { apiKey: number }) => a.apiKey === key);
        assert.deepEqual([k?.minVersion, k?.maxVersion], [0, 1], `API ${key}`);
      }
    } finally {
      raw.close();
    }
  });

  test('alter, describe with filters, remove; audit events; survives a restart', async () => {
    assert.deepEqual(await node.admin.describeClientQuotas(), []);
    const results = await node.admin.alterClientQuotas([
      { entity: { user: 'alice' }, ops: [{ key: 'producer_byte_rate', value: 1048576 }, { key: 'consumer_byte_rate', value: 2097152 }] },
      { entity: { user: null }, ops: [{ key: 'producer_byte_rate', value: 1024 }] },
      { entity: { user: 'alice', 'client-id': 'app' }, ops: [{ key: 'request_percentage', value: 12.5 }] },
      { entity: { 'client-id': null }, ops: [{ key: 'controller_mutation_rate', value: 10 }] },
      { entity: { ip: '127.0.0.1' }, ops: [{ key: 'connection_creation_rate', value: 5 }] },
    ]);
    assert.deepEqual(results.map((r) => r.error), [null, null, null, null, null]);
    assert.deepEqual(results[2]!.entity, { user: 'alice', 'client-id': 'app' });

    const all = await node.admin.describeClientQuotas();
    assert.equal(all.length, 5);
    assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true }), [
      { entity: { user: 'alice' }, values: { consumer_byte_rate: 2097152, producer_byte_rate: 1048576 } },
    ]);
    // Not strict: every entity naming user alice, with or without a client id.
    assert.deepEqual((await node.admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }])).map((e) => e.entity), [
      { user: 'alice' }, { user: 'alice', 'client-id': 'app' },
    ]);
    assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', default: true }]), [{ entity: { user: null }, values: { producer_byte_rate: 1024 } }]);
    assert.deepEqual((await node.admin.describeClientQuotas([{ entityType: 'client-id' }])).map((e) => e.entity), [{ user: 'alice', 'client-id': 'app' }]);
    assert.deepEqual((await node.admin.describeClientQuotas([{ entityType: 'ip' }])).map((e) => e.values), [{ connection_creation_rate: 5 }]);

    // Removing the last key removes the entity.
    assert.equal((await node.admin.alterClientQuotas([{ entity: { user: 'alice', 'client-id': 'app' }, ops: [{ key: 'request_percentage', value: null }] }]))[0]!.error, null);
    assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'client-id', match: 'app' }]), []);

    const changes = audit.filter((e) => e.type === 'change' && e.operation === 'AlterClientQuotas');
    assert.equal(changes.length, 6);
    assert.deepEqual(changes[0]!.resource, { type: 'CLIENT_QUOTA', name: 'user=alice' });
    assert.equal(changes[0]!.result, 'success');
    assert.deepEqual(changes[0]!.details, { entity: { user: 'alice' }, set: { producer_byte_rate: 1048576, consumer_byte_rate: 2097152 }, removed: [] });
    assert.deepEqual(changes[5]!.details?.removed, ['request_percentage']);

    assert.ok(existsSync(join(node.dataDir, CLIENT_QUOTAS_FILE)));
    await node.restart();
    assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true }), [
      { entity: { user: 'alice' }, values: { consumer_byte_rate: 2097152, producer_byte_rate: 1048576 } },
    ]);
    assert.equal((await node.admin.describeClientQuotas()).length, 4);
  });

  test("Kafka's validation: INVALID_REQUEST per entry, the others applied; validate_only applies nothing", async () => {
    const raw = await RawClient.connect(node.broker.address);
    try {
      const op = (key: string, value: number, remove = false) => ({ key, value, remove });
      const res = await raw.send(ALTER_CLIENT_QUOTAS, 1, {
        validateOnly: false,
        entries: [
          { entity: [], ops: [op('producer_byte_rate', 1)] },
          { entity: [{ entityType: 'topic', entityName: 't' }], ops: [op('producer_byte_rate', 1)] },
          { entity: [{ entityType: 'user', entityName: 'a' }, { entityType: 'user', entityName: 'b' }], ops: [op('producer_byte_rate', 1)] },
          { entity: [{ entityType: 'ip', entityName: '10.0.0.1' }, { entityType: 'user', entityName: 'a' }], ops: [op('connection_creation_rate', 1)] },
          { entity: [{ entityType: 'ip', entityName: 'not-an-ip' }], ops: [op('connection_creation_rate', 1)] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [op('no_such_key', 1)] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [op('connection_creation_rate', 1)] },
          { entity: [{ entityType: 'ip', entityName: '10.0.0.1' }], ops: [op('producer_byte_rate', 1)] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [op('producer_byte_rate', 1.5)] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [op('producer_byte_rate', -5)] },
          { entity: [{ entityType: 'user', entityName: 'carol' }], ops: [op('producer_byte_rate', 5), op('producer_byte_rate', 6)] },
          { entity: [{ entityType: 'user', entityName: 'dave' }], ops: [op('request_percentage', 0.5)] },
        ],
      });
      const codes = res.entries.map((e: { errorCode: number }) => e.errorCode);
      assert.deepEqual(codes, [...Array(11).fill(ErrorCode.INVALID_REQUEST), ErrorCode.NONE]);
      assert.match(res.entries[3].errorMessage, /IP entity should not be combined/);
      assert.match(res.entries[5].errorMessage, /Invalid configuration key no_such_key/);
      assert.match(res.entries[8].errorMessage, /must be a Long value/);
      assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', match: 'carol' }]), []);
      assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', match: 'dave' }]), [{ entity: { user: 'dave' }, values: { request_percentage: 0.5 } }]);

      const v = await node.admin.alterClientQuotas([{ entity: { user: 'erin' }, ops: [{ key: 'producer_byte_rate', value: 100 }] }], { validateOnly: true });
      assert.equal(v[0]!.error, null);
      assert.deepEqual(await node.admin.describeClientQuotas([{ entityType: 'user', match: 'erin' }]), []);

      const bad = await raw.send(DESCRIBE_CLIENT_QUOTAS, 1, { strict: false, components: [{ entityType: 'user', matchType: 0, match: null }] });
      assert.deepEqual([bad.errorCode, bad.entries], [ErrorCode.INVALID_REQUEST, null]);
      const bad2 = await raw.send(DESCRIBE_CLIENT_QUOTAS, 0, { strict: false, components: [{ entityType: 'user', matchType: 1, match: 'x' }] });
      assert.equal(bad2.errorCode, ErrorCode.INVALID_REQUEST);
      const bad3 = await raw.send(DESCRIBE_CLIENT_QUOTAS, 0, { strict: false, components: [{ entityType: 'ip', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }] });
      assert.equal(bad3.errorCode, ErrorCode.INVALID_REQUEST);
      const bad4 = await raw.send(DESCRIBE_CLIENT_QUOTAS, 0, { strict: false, components: [{ entityType: 'user', matchType: 2, match: null }, { entityType: 'user', matchType: 2, match: null }] });
      assert.equal(bad4.errorCode, ErrorCode.INVALID_REQUEST);
    } finally {
      raw.close();
    }
  });
});
