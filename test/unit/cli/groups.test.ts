import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { joinClassicMember, openBroker, produce, type TestBroker } from '../client/admin-fixtures.js';

let broker: TestBroker;
let admin: Admin;

before(async () => {
  broker = await openBroker();
  admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
  await admin.connect();
  await admin.createTopics([{ name: 'cg-t', numPartitions: 3 }]);
  await produce(broker.address, 'cg-t', 0, Array.from({ length: 10 }, (_, i) => `v${i}`));
  await produce(broker.address, 'cg-t', 1, ['a', 'b', 'c', 'd']);
});

after(async () => {
  await admin.close();
  await broker.close();
});

const groups = (...args: string[]) => runCli(['groups', ...args, '-b', broker.address], { timeoutMs: 20_000 });

/** Table rows split on runs of 2+ spaces (formatTable's separator), header first. */
const table = (out: string): string[][] => out.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

test('every groups command has --help with examples (exit 0)', async () => {
  const helps = await Promise.all(['list', 'describe', 'reset-offsets', 'delete'].map((c) => runCli(['groups', c, '--help'], { timeoutMs: 20_000 })));
  for (const h of helps) {
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /Examples:\n {2}\$ tributary groups /);
  }
});

test('describe: lag per partition for an empty group and for one with an active member', async () => {
  await admin.alterGroupOffsets('cg-empty', [{ topic: 'cg-t', partition: 0, offset: 6 }, { topic: 'cg-t', partition: 1, offset: 4 }]);
  let r = await groups('describe', '--group', 'cg-empty');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "\nConsumer group 'cg-empty' has no active members.\n");
  assert.deepEqual(table(r.stdout), [
    ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID'],
    ['cg-empty', 'cg-t', '0', '6', '10', '4', '-', '-', '-'],
    ['cg-empty', 'cg-t', '1', '4', '4', '0', '-', '-', '-'],
  ]);

  // Offsets committed while the group was empty, then a member joins holding all three partitions.
  await admin.alterGroupOffsets('cg-live', [{ topic: 'cg-t', partition: 0, offset: 3 }]);
  const member = await joinClassicMember(broker.address, 'cg-live', ['cg-t'], [0, 1, 2].map((partition) => ({ topic: 'cg-t', partition })), 'live-client');
  try {
    r = await groups('describe', '--group', 'cg-live');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const rows = table(r.stdout);
    assert.deepEqual(rows.slice(1).map((row) => row.slice(0, 6)), [
      ['cg-live', 'cg-t', '0', '3', '10', '7'],
      ['cg-live', 'cg-t', '1', '-', '4', '-'],
      ['cg-live', 'cg-t', '2', '-', '0', '-'],
    ], 'a partition assigned but never committed shows - for CURRENT-OFFSET and LAG');
    for (const row of rows.slice(1)) {
      assert.equal(row[6], member.memberId);
      assert.match(row[7], /127\.0\.0\.1/);
      assert.equal(row[8], 'live-client');
    }

    r = await groups('describe', '--group', 'cg-live', '--members', '--verbose');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(table(r.stdout)[0], ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS', 'ASSIGNMENT']);
    assert.deepEqual([table(r.stdout)[1][1], table(r.stdout)[1][4], table(r.stdout)[1][5]], [member.memberId, '3', 'cg-t(0,1,2)']);

    r = await groups('describe', '--group', 'cg-live', '--state');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(table(r.stdout)[0], ['GROUP', 'COORDINATOR (ID)', 'ASSIGNMENT-STRATEGY', 'STATE', '#MEMBERS']);
    assert.deepEqual([table(r.stdout)[1][0], table(r.stdout)[1][2], table(r.stdout)[1][3], table(r.stdout)[1][4]], ['cg-live', 'range', 'Stable', '1']);
    assert.match(table(r.stdout)[1][1], new RegExp(`^${broker.address.replace(/\./g, '\\.')} \\(\\d+\\)$`));

    r = await groups('list');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(['cg-empty', 'cg-live'].every((g) => r.stdout.split('\n').includes(g)));
    r = await groups('list', '--state');
    assert.deepEqual(table(r.stdout).filter((row) => row[0].startsWith('cg-')), [['cg-empty', 'Empty'], ['cg-live', 'Stable']]);
    assert.deepEqual(table(r.stdout)[0], ['GROUP', 'STATE']);
    r = await groups('list', '--state', 'stable');
    assert.deepEqual(table(r.stdout).slice(1).map((row) => row[0]), ['cg-live']);

    // A group with members: offsets cannot be reset and it cannot be deleted.
    r = await groups('reset-offsets', '--group', 'cg-live', '--all-topics', '--to-earliest', '--execute');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Assignments can only be reset if the group 'cg-live' is inactive, but the current state is Stable — stop its 1 consumer\(s\) first/);
    r = await groups('delete', '--group', 'cg-live');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /Group 'cg-live' could not be deleted due to: .*NON_EMPTY_GROUP/);
  } finally {
    await member.leave();
  }
  r = await groups('describe', '--group', 'cg-live');
  assert.match(r.stderr, /Consumer group 'cg-live' has no active members\./);
  assert.deepEqual(table(r.stdout).slice(1).map((row) => [row[3], row[6]]), [['3', '-']], 'only the committed partition is left');
});

test('reset-offsets: dry run by default, --execute commits, targets clamp to the log', async () => {
  await admin.alterGroupOffsets('cg-reset', [{ topic: 'cg-t', partition: 0, offset: 5 }, { topic: 'cg-t', partition: 1, offset: 1 }]);
  let r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--to-earliest');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^WARN: No action will be performed as the --execute option is missing/);
  assert.deepEqual(table(r.stdout), [['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ['cg-reset', 'cg-t', '0', '0'], ['cg-reset', 'cg-t', '1', '0'], ['cg-reset', 'cg-t', '2', '0']]);
  const offsets = async () => (await admin.listGroupOffsets('cg-reset')).map((o) => [o.partition, o.offset]);
  assert.deepEqual(await offsets(), [[0, 5], [1, 1]], 'a dry run changes nothing');

  r = await groups('reset-offsets', '--group', 'cg-reset', '--all-topics', '--shift-by', '10', '--execute');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.deepEqual(await offsets(), [[0, 10], [1, 4]], 'shift-by clamps to the log end');

  r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t:0', '--shift-by', '-3', '--execute');
  assert.deepEqual(await offsets(), [[0, 7], [1, 4]]);
  r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t:0,1', '--to-offset', '-5', '--dry-run');
  assert.equal(r.stderr, '');
  assert.deepEqual(table(r.stdout).slice(1).map((row) => row[3]), ['0', '0'], 'to-offset clamps to the earliest offset');
  r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--to-latest', '--execute');
  assert.deepEqual(await offsets(), [[0, 10], [1, 4], [2, 0]]);
  r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t:1', '--to-datetime', '2000-01-01T00:00:00Z', '--execute');
  assert.deepEqual(await offsets(), [[0, 10], [1, 0], [2, 0]]);

  r = await groups('describe', '--group', 'cg-reset');
  assert.deepEqual(table(r.stdout).slice(1).map((row) => row.slice(2, 6)), [['0', '10', '10', '0'], ['1', '0', '4', '4'], ['2', '0', '0', '0']]);

  const bad = await Promise.all([
    groups('reset-offsets', '--group', 'cg-reset', '--to-earliest'),
    groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--all-topics', '--to-earliest'),
    groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t'),
    groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--to-earliest', '--to-latest'),
    groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--to-earliest', '--dry-run', '--execute'),
    groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-t', '--to-datetime', 'yesterday'),
  ]);
  for (const b of bad) {
    assert.equal(b.code, 1, b.stderr);
    assert.match(b.stderr, /\(run with --help for usage\)/);
  }
  r = await groups('reset-offsets', '--group', 'cg-reset', '--topic', 'cg-nope', '--to-earliest');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /error: topic 'cg-nope' does not exist — create it with `tributary topics create --topic cg-nope`/);
  r = await groups('reset-offsets', '--group', 'cg-fresh', '--topic', 'cg-t:2', '--shift-by', '1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot shift the offset of cg-t-2: group 'cg-fresh' has no committed offset there/);
});

test('delete prints Kafka\'s line; unknown groups fail naming them; unreachable broker exits 1', async () => {
  await admin.alterGroupOffsets('cg-del1', [{ topic: 'cg-t', partition: 0, offset: 1 }]);
  await admin.alterGroupOffsets('cg-del2', [{ topic: 'cg-t', partition: 0, offset: 1 }]);
  let r = await groups('delete', '--group', 'cg-del1', '--group', 'cg-del2');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "Deletion of requested consumer groups ('cg-del1', 'cg-del2') was successful.\n");
  assert.ok((await admin.listGroups()).every((g) => !g.groupId.startsWith('cg-del')));
  r = await groups('delete', '--group', 'cg-del1');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /Deletion of some consumer groups failed:\n\* Group 'cg-del1' could not be deleted due to: .*GROUP_ID_NOT_FOUND/);

  r = await groups('describe', '--group', 'cg-never');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /consumer group 'cg-never' does not exist — list groups with `tributary groups list`/);
  r = await groups('describe');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /give --group <group> \(repeatable\) or --all-groups\n\(run with --help for usage\)/);

  r = await runCli(['groups', 'list', '-b', '127.0.0.1:1', '-X', 'retries=0']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot reach 127\.0\.0\.1:1 \(ECONNREFUSED\) — is `tributary start` running/);
});
