import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describe, runUserEvents, totals } from '../../../examples/user-events/main.js';
import { runExampleMain } from './support.js';

test('user-events: the consumer group counts every event once, per user, split over its members', async () => {
  const s = await runUserEvents({ events: 600, users: 15 });
  assert.equal(s.produced, 600);
  assert.equal(totals(s.sent).all, 600);
  assert.deepEqual(new Map([...s.counted].sort()), new Map([...s.sent].sort()));
  assert.equal(s.perMember.length, 2);
  assert.equal(s.perMember[0] + s.perMember[1], 600);
  assert.ok(s.perMember.every((n) => n > 0), `both members counted: ${s.perMember.join(', ')}`);
  const t = totals(s.counted);
  assert.ok(t.click > 0 && t.view > t.click && t.purchase > 0, JSON.stringify(t));
  assert.match(describe(s), /^user-events: produced 600 events; group user-stats \(2 members: \d+ \+ \d+\) counted 600 for 15 users/);
});

test('user-events: one command runs it bounded and prints the summary', async () => {
  const run = await runExampleMain('user-events', ['--events', '200', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^user-events: produced 200 events; .* counted 200 for \d+ users \(click \d+, view \d+, purchase \d+\)/);
  assert.equal(run.stderr, '');
});

test('user-events: a bad value exits 1, an unknown flag 2 with the usage', async () => {
  const run = await runExampleMain('user-events', ['--events', 'many']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /--events must be a positive integer/);
  const unknown = await runExampleMain('user-events', ['--nope']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /usage: node dist\/examples\/user-events\/main.js/);
});
