/**
 * `tributary groups` against group state made by a real client: kcat 1.7.1 (librdkafka) consuming in a
 * group. kcat -G ignores -e, so every kcat here is bounded by -c N and a hard deadline.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { Admin } from '../../src/client/admin.js';
import { runCli } from '../helpers/cli.js';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { run } from './support/processes.js';

const table = (out: string): string[][] => out.trimEnd().split('\n').map((l) => l.split(/ {2,}/));

describe('tributary groups with kcat consumer groups', () => {
  let broker: TestBroker;
  let admin: Admin;
  before(async () => {
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    admin = new Admin({ bootstrapServers: broker.address });
    await admin.connect();
  });
  after(async () => {
    await admin?.close();
    await broker?.close();
  });

  const cli = (...args: string[]) => runCli([...args, '-b', broker.address], { timeoutMs: 20_000 });
  const kcatConsume = (group: string, count: number) =>
    run('kcat', ['-b', broker.address, '-G', group, '-o', 'beginning', '-c', String(count), '-f', '%p:%o\\n', 'kc'], { timeoutMs: 20_000 });

  test('describe shows what kcat committed, lag against what was produced; reset then re-consume; delete', async () => {
    assert.equal((await cli('topics', 'create', '--topic', 'kc', '--partitions', '2')).code, 0);
    await run('kcat', ['-b', broker.address, '-P', '-t', 'kc', '-p', '0'], { input: Array.from({ length: 10 }, (_, i) => `a${i}`).join('\n') + '\n' });
    await run('kcat', ['-b', broker.address, '-P', '-t', 'kc', '-p', '1'], { input: Array.from({ length: 6 }, (_, i) => `b${i}`).join('\n') + '\n' });

    const consumed = await kcatConsume('kc-group', 8);
    const lines = consumed.stdout.trim().split('\n');
    assert.equal(lines.length, 8);
    // kcat commits on close: per partition, one past the last offset it consumed.
    const expected = new Map<number, number>();
    for (const l of lines) {
      const [p, o] = l.split(':').map(Number);
      expected.set(p, Math.max(expected.get(p) ?? 0, o + 1));
    }

    let r = await cli('groups', 'describe', '--group', 'kc-group');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Consumer group 'kc-group' has no active members\./);
    const leo = new Map([[0, 10], [1, 6]]);
    const rows = table(r.stdout).slice(1);
    assert.deepEqual(rows.map((row) => Number(row[2])), [...expected.keys()].sort());
    for (const row of rows) {
      const p = Number(row[2]);
      assert.deepEqual(row.slice(3), [String(expected.get(p)), String(leo.get(p)), String(leo.get(p)! - expected.get(p)!), '-', '-', '-']);
    }

    // A kcat member that stays: the table names it, and offsets cannot be reset meanwhile.
    const live = spawn('kcat', ['-b', broker.address, '-G', 'kc-group', '-q', 'kc'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const killer = setTimeout(() => live.kill('SIGKILL'), 20_000);
    const exited = new Promise<void>((resolve) => live.on('exit', () => resolve()));
    try {
      for (let i = 0; i < 100; i++) {
        const [d] = await admin.describeGroups(['kc-group']);
        if (d.state === 'Stable' && d.members.length === 1) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      r = await cli('groups', 'describe', '--group', 'kc-group');
      assert.equal(r.code, 0, r.stderr);
      const liveRows = table(r.stdout).slice(1);
      assert.deepEqual(liveRows.map((row) => row[2]), ['0', '1']);
      for (const row of liveRows) {
        assert.match(row[6], /^rdkafka-/);
        assert.equal(row[8], 'rdkafka');
      }
      r = await cli('groups', 'reset-offsets', '--group', 'kc-group', '--all-topics', '--to-earliest', '--execute');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /can only be reset if the group 'kc-group' is inactive, but the current state is Stable/);
    } finally {
      live.kill('SIGTERM');
      await exited;
      clearTimeout(killer);
    }

    // Once kcat has left: reset to the beginning, and kcat reads everything again.
    for (let i = 0; i < 100 && (await admin.describeGroups(['kc-group']))[0].state !== 'Empty'; i++) await new Promise((res) => setTimeout(res, 100));
    r = await cli('groups', 'reset-offsets', '--group', 'kc-group', '--topic', 'kc', '--to-earliest', '--execute');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(table(r.stdout).slice(1).map((row) => row[3]), ['0', '0']);
    r = await cli('groups', 'describe', '--group', 'kc-group');
    assert.deepEqual(table(r.stdout).slice(1).map((row) => row.slice(3, 6)), [['0', '10', '10'], ['0', '6', '6']]);
    const again = await kcatConsume('kc-group', 16);
    assert.equal(again.stdout.trim().split('\n').length, 16);
    r = await cli('groups', 'describe', '--group', 'kc-group');
    assert.deepEqual(table(r.stdout).slice(1).map((row) => row.slice(3, 6)), [['10', '10', '0'], ['6', '6', '0']]);

    r = await cli('groups', 'delete', '--group', 'kc-group');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "Deletion of requested consumer groups ('kc-group') was successful.\n");
    r = await cli('groups', 'list');
    assert.ok(!r.stdout.split('\n').includes('kc-group'));
  });
});
