import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { buildTopology, describe, runPageViews } from '../../../examples/page-views/main.js';
import { runCli } from '../../helpers/cli.js';
import { runExampleMain } from './support.js';

test('page-views: KafkaStreams counts every view per user per minute, as sent', async () => {
  const s = await runPageViews({ views: 600, users: 6 });
  assert.equal(s.produced, 600);
  assert.deepEqual(new Map([...s.counted].sort()), new Map([...s.sent].sort()));
  assert.ok(s.counted.size >= 5 * 2, `several users over five minutes: ${s.counted.size} user-minutes`);
  assert.match(describe(s), /^page-views: produced 600 views; KafkaStreams counted 600 in \d+ user-minutes; busiest user-\d+@\d\d:\d\d with \d+/);
});

test('page-views: one command runs it bounded; `tributary streams describe --module` prints its topology', async () => {
  const run = await runExampleMain('page-views', ['--views', '300', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^page-views: produced 300 views; KafkaStreams counted 300 in /);
  const d = await runCli(['streams', 'describe', '--module', resolve(import.meta.dirname, '../../../examples/page-views/main.js')], { timeoutMs: 20_000 });
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, buildTopology().describe().toString() + '\n');
  assert.match(d.stdout, /Processor: KSTREAM-AGGREGATE-0000000001 \(stores: \[views-per-minute\]\)/);
});
