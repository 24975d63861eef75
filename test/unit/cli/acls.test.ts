/**
 * `tributary acls add|list|remove` and the kafka-acls.sh drop-in against a broker with the authorizer
 * (User:ANONYMOUS, the PLAINTEXT listener's principal, is the super user here): Kafka's output lines, the
 * --producer/--consumer conveniences, prefixed patterns, --remove with and without --force, usage errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { Admin } from '../../../src/client/admin.js';
import { runCli, runKafkaScript } from '../../helpers/cli.js';

describe('ACL commands', () => {
  let dataDir: string;
  let broker: RunningBroker;
  let admin: Admin;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-acl-cli-'));
    broker = await startBroker({
      dataDir, logLevel: 'silent',
      config: { listeners: 'PLAINTEXT://127.0.0.1:0', 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users': 'User:ANONYMOUS' },
    });
    admin = new Admin({ bootstrapServers: broker.address, retries: 0 });
  });
  after(async () => {
    await admin?.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('tributary acls add / list / remove', async () => {
    const b = ['--bootstrap-server', broker.address];
    let r = await runCli(['acls', 'add', ...b, '--allow-principal', 'User:alice', '--operation', 'Read', '--operation', 'describe', '--topic', 'orders']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, [
      'Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: ',
      ' \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW) ',
      '',
      'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`: ',
      ' \t(principal=User:alice, host=*, operation=READ, permissionType=ALLOW)',
      '\t(principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW) ',
      '', ''].join('\n'));
    r = await runCli(['acls', 'add', ...b, '--deny-principal', 'User:bob', '--deny-host', '10.0.0.9', '--group', 'pay', '--resource-pattern-type', 'prefixed', '--operation', 'Read']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await admin.describeAcls({ resourceType: 'GROUP' })), [
      { resourceType: 'GROUP', resourceName: 'pay', patternType: 'PREFIXED', principal: 'User:bob', host: '10.0.0.9', operation: 'READ', permissionType: 'DENY' },
    ]);
    r = await runCli(['acls', 'list', ...b, '--topic', 'orders']);
    assert.match(r.stdout, /^Current ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=orders, patternType=LITERAL\)`: \n \t\(principal=User:alice/);
    r = await runCli(['acls', 'list', ...b, '--principal', 'User:bob']);
    assert.match(r.stdout, /name=pay, patternType=PREFIXED/);
    assert.doesNotMatch(r.stdout, /orders/);
    // Usage errors: an operation a group does not have, a principal without a type, no principal.
    r = await runCli(['acls', 'add', ...b, '--allow-principal', 'User:alice', '--operation', 'Write', '--group', 'g']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GROUP only supports operations/);
    r = await runCli(['acls', 'add', ...b, '--allow-principal', 'alice', '--topic', 't']);
    assert.match(r.stderr, /Could not parse principal/);
    r = await runCli(['acls', 'add', ...b, '--topic', 't']);
    assert.match(r.stderr, /--allow-principal, --deny-principal/);
    r = await runCli(['acls', 'remove', ...b, '--topic', 'orders', '--allow-principal', 'User:alice', '--operation', 'Read', '--force']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Removed ACLs for resource .*\n \t\(principal=User:alice, host=\*, operation=READ/);
    assert.deepEqual((await admin.describeAcls({ resourceType: 'TOPIC' })).map((x) => x.operation), ['DESCRIBE']);
    r = await runCli(['acls', 'remove', ...b, '--group', 'pay', '--resource-pattern-type', 'prefixed'], { input: 'n\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await admin.describeAcls({ resourceType: 'GROUP' })).length, 1, 'answered n: nothing removed');
    r = await runCli(['acls', 'remove', ...b, '--group', 'pay', '--resource-pattern-type', 'prefixed'], { input: 'y\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await admin.describeAcls({ resourceType: 'GROUP' })).length, 0);
  });

  test('kafka-acls.sh --add --producer/--consumer, --list, --remove --force', async () => {
    const b = ['--bootstrap-server', broker.address];
    let r = await runKafkaScript('kafka-acls.sh', [...b, '--add', '--allow-principal', 'User:carol', '--producer', '--idempotent', '--topic', 'logs', '--transactional-id', 'tx1']);
    assert.equal(r.code, 0, r.stderr);
    const carol = (await admin.describeAcls({ principal: 'User:carol' })).map((x) => `${x.resourceType}:${x.resourceName}:${x.operation}`).sort();
    assert.deepEqual(carol, ['CLUSTER:kafka-cluster:IDEMPOTENT_WRITE', 'TOPIC:logs:CREATE', 'TOPIC:logs:DESCRIBE', 'TOPIC:logs:WRITE', 'TRANSACTIONAL_ID:tx1:DESCRIBE', 'TRANSACTIONAL_ID:tx1:WRITE']);
    r = await runKafkaScript('kafka-acls.sh', [...b, '--add', '--allow-principal', 'User:dave', '--consumer', '--topic', 'logs', '--group', 'readers']);
    assert.equal(r.code, 0, r.stderr);
    r = await runKafkaScript('kafka-acls.sh', [...b, '--list', '--topic', 'logs']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Current ACLs for resource `ResourcePattern\(resourceType=TOPIC, name=logs, patternType=LITERAL\)`: \n/);
    assert.equal(r.stdout.match(/\(principal=User:(carol|dave)/g)?.length, 5);
    r = await runKafkaScript('kafka-acls.sh', [...b, '--remove', '--force', '--topic', 'logs']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await admin.describeAcls({ resourceType: 'TOPIC', resourceName: 'logs' }), []);
    r = await runKafkaScript('kafka-acls.sh', [...b, '--list', '--add', '--topic', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exactly one action/);
    r = await runKafkaScript('kafka-acls.sh', ['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /--allow-principal/);
  });
});
