import { test } from 'node:test';
import assert from 'node:assert/strict';
import { processOrder, runRawToProcessed } from '../../../examples/raw-to-processed/main.js';
import { runExampleMain } from './support.js';

test('raw-to-processed: validation and enrichment', () => {
  const now = new Date('2026-01-01T00:00:00Z');
  const ok = processOrder(Buffer.from(JSON.stringify({ orderId: 'o-1', customer: 'c1', amount: 100, currency: 'USD', items: 2 })), now);
  assert.deepEqual(ok, { ok: { orderId: 'o-1', customer: 'c1', amount: 100, currency: 'USD', items: 2, amountEur: 92, size: 'medium', processedAt: '2026-01-01T00:00:00.000Z' } });
  assert.deepEqual(processOrder(Buffer.from('{"orderId":'), now), { error: 'not JSON' });
  assert.deepEqual(processOrder(Buffer.from('[1]'), now), { error: 'not a JSON object' });
  assert.deepEqual(processOrder(null, now), { error: 'empty value' });
  assert.match((processOrder(Buffer.from('{"orderId":"x","customer":"c","amount":-3,"currency":"EUR"}'), now) as { error: string }).error, /positive/);
  assert.match((processOrder(Buffer.from('{"orderId":"x","customer":"c","amount":3,"currency":"XXX"}'), now) as { error: string }).error, /unknown currency/);
});

test('raw-to-processed: every order exactly once in processed or the DLQ, the aborted transaction invisible', async () => {
  const s = await runRawToProcessed({ orders: 400 });
  assert.equal(s.produced, 400);
  assert.ok(s.producedBad > 0);
  assert.equal(s.processed + s.deadLettered, 400);
  assert.equal(s.deadLettered, s.producedBad);
  assert.ok(s.aborted > 0, 'one transaction was aborted on purpose');
  assert.ok(s.transactions >= 4);
  assert.deepEqual(s.verified, { processed: s.processed, dlq: s.producedBad, distinctOrders: s.processed, duplicates: 0 });
});

test('raw-to-processed: one command', async () => {
  const run = await runExampleMain('raw-to-processed', ['--orders', '150', '-q']);
  assert.equal(run.code, 0, run.stderr);
  const m = /^raw-to-processed: 150 raw orders → (\d+) processed \+ (\d+) to orders-dlq in \d+ transactions \(1 aborted on purpose with \d+ records, redone\); read_committed sees (\d+) processed \(0 duplicates\) and (\d+) dead letters/.exec(run.stdout);
  assert.ok(m, run.stdout);
  assert.equal(Number(m[1]) + Number(m[2]), 150);
  assert.equal(m[3], m[1]);
  assert.equal(m[4], m[2]);
});
