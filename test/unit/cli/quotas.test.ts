import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { openBrokerWithAdmin, type TestBroker } from '../client/admin-fixtures.js';

let broker: TestBroker;
let admin: Admin;

before(async () => {
  ({ broker, admin } = await openBrokerWithAdmin());
});
after(async () => {
  await admin.close();
  await broker.close();
});

const quotas = (...args: string[]) => runCli(['quotas', ...args, '-b', broker.address], { timeoutMs: 20_000 });

test('quotas alter / describe: users, client ids, defaults; --delete-config; clear errors', async () => {
  const help = await runCli(['quotas', 'alter', '--help']);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /--add-config/);
  assert.match(help.stdout, /--user-defaults/);

  let r = await quotas('alter', '--user', 'alice', '--add-config', 'producer_byte_rate=1048576');
  assert.deepEqual([r.code, r.stdout], [0, 'Updated quotas for user alice.\n'], r.stderr);
  r = await quotas('alter', '--user', 'alice', '--client-id', 'app', '--add-config', 'producer_byte_rate=2048,consumer_byte_rate=4096');
  assert.equal(r.code, 0, r.stderr);
  r = await quotas('alter', '--user-defaults', '--add-config', 'request_percentage=50');
  assert.deepEqual([r.code, r.stdout], [0, 'Updated quotas for user <default>.\n'], r.stderr);
  assert.deepEqual(await admin.describeClientQuotas([{ entityType: 'user', default: true }]), [{ entity: { user: null }, values: { request_percentage: 50 } }]);

  r = await quotas('describe', '--user', 'alice');
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n').map((l) => l.trim().split(/\s{2,}/));
  assert.deepEqual(lines, [
    ['USER', 'CLIENT-ID', 'IP', 'QUOTA', 'VALUE'],
    ['alice', 'producer_byte_rate', '1048576'],
    ['alice', 'app', 'consumer_byte_rate', '4096'],
    ['alice', 'app', 'producer_byte_rate', '2048'],
  ]);

  r = await quotas('alter', '--user', 'alice', '--delete-config', 'producer_byte_rate');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(await admin.describeClientQuotas([{ entityType: 'user', match: 'alice' }], { strict: true }), []);

  // Errors: the broker's refusal, a bad value, no entity, no change.
  r = await quotas('alter', '--user', 'alice', '--add-config', 'producer_byte_rate=1.5');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /INVALID_REQUEST \(Configuration producer_byte_rate must be a Long value\)/);
  r = await quotas('alter', '--user', 'alice', '--add-config', 'producer_byte_rate=lots');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Invalid value 'lots' for quota producer_byte_rate: expected a number/);
  r = await quotas('alter', '--add-config', 'producer_byte_rate=1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /name an entity/);
  r = await quotas('alter', '--user', 'alice');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /give --add-config and\/or --delete-config/);
  r = await quotas('alter', '--ip', '10.0.0.1', '--user', 'bob', '--add-config', 'connection_creation_rate=5');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /an IP entity cannot be combined/);
});
