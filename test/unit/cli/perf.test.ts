/** `tributary perf produce|consume|e2e`: small runs whose Kafka-format output lines are parsed and checked. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';
import { runCli, type CliResult } from '../../helpers/cli.js';

const NUM = '(\\d+(?:\\.\\d+)?)';

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('perf tools', () => {
  let address: string;
  let broker: TestBroker;
  before(async () => {
    // No initial rebalance delay: a one-member group gets its assignment at once.
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    address = broker.address;
  });
  after(async () => {
    await broker?.close();
  });

  test('perf produce prints interval lines and the final line with percentiles; perf consume reads them all back', async () => {
    const produced = ok(await runCli(['perf', 'produce', '-t', 'perf', '--num-records', '3000', '--record-size', '100', '--reporting-interval', '1', '-b', address], { timeoutMs: 20_000 }));
    const lines = produced.stdout.trim().split('\n');
    const final = new RegExp(`^(\\d+) records sent, ${NUM} records/sec \\(${NUM} MB/sec\\), ${NUM} ms avg latency, ${NUM} ms max latency, (\\d+) ms 50th, (\\d+) ms 95th, (\\d+) ms 99th, (\\d+) ms 99\\.9th\\.$`).exec(lines.at(-1)!);
    assert.ok(final, `final line: ${lines.at(-1)}`);
    assert.equal(Number(final[1]), 3000);
    const [avg, max, p50, p95, p99, p999] = final.slice(4).map(Number);
    assert.ok(avg <= max && p50 <= p95 && p95 <= p99 && p99 <= p999 && p999 <= Math.ceil(max), final[0]);
    // With a 1 ms interval, acknowledgements arriving over more than a millisecond print window lines.
    const windows = lines.slice(0, -1).map((l) => new RegExp(`^(\\d+) records sent, ${NUM} records/sec \\(${NUM} MB/sec\\), ${NUM} ms avg latency, ${NUM} ms max latency\\.$`).exec(l));
    assert.ok(windows.every(Boolean), produced.stdout);
    assert.ok(windows.reduce((n, m) => n + Number(m![1]), 0) <= 3000);

    const consumed = ok(await runCli(['perf', 'consume', '-t', 'perf', '--messages', '3000', '-b', address], { timeoutMs: 20_000 }));
    const [header, row] = consumed.stdout.trim().split('\n');
    assert.equal(header, 'start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec');
    const date = '(\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d:\\d{3})';
    const m = new RegExp(`^${date}, ${date}, ${NUM}, ${NUM}, (\\d+), ${NUM}, (\\d+), (\\d+), ${NUM}, ${NUM}$`).exec(row);
    assert.ok(m, `row: ${row}`);
    assert.equal(Number(m[5]), 3000);
    assert.equal(Number(m[3]), Number(((3000 * 100) / 1048576).toFixed(4)));

    // In a group: the same count, and --hide-header leaves only the row.
    const grouped = ok(await runCli(['perf', 'consume', '-t', 'perf', '--messages', '3000', '-g', 'perf-g', '--hide-header', '-b', address], { timeoutMs: 20_000 }));
    const rows = grouped.stdout.trim().split('\n');
    assert.equal(rows.length, 1);
    assert.equal(rows[0].split(', ')[4], '3000');
  });

  test('perf consume warns and reports what it got when the topic has fewer records than --messages', async () => {
    ok(await runCli(['produce', '-t', 'few', '-b', address], { input: 'a\nb\n', timeoutMs: 20_000 }));
    const r = ok(await runCli(['perf', 'consume', '-t', 'few', '--messages', '10', '--timeout', '500', '--hide-header', '-b', address], { timeoutMs: 20_000 }));
    assert.match(r.stderr, /WARNING: Exiting before consuming the expected number of messages: timeout \(500 ms\) exceeded\./);
    assert.equal(r.stdout.trim().split(', ')[4], '2');
  });

  test('perf produce --throughput paces the sends', async () => {
    const started = Date.now();
    const r = ok(await runCli(['perf', 'produce', '-t', 'paced', '--num-records', '50', '--record-size', '10', '--throughput', '100', '-b', address], { timeoutMs: 20_000 }));
    // 50 records at 100/s: the last is due at 490 ms.
    assert.ok(Date.now() - started >= 490);
    assert.match(r.stdout, /^50 records sent, /m);
    const rate = Number(/records sent, (\d+\.\d+) records\/sec/.exec(r.stdout.trim().split('\n').at(-1)!)![1]);
    assert.ok(rate <= 110, `rate ${rate}`);
  });

  test('perf e2e times round trips and prints the average and percentiles', async () => {
    const r = ok(await runCli(['perf', 'e2e', '-t', 'e2e', '--num-records', '200', '--record-size', '64', '-b', address], { timeoutMs: 20_000 }));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^0\t\d+\.\d{3}$/);
    const avg = /^Avg latency: (\d+\.\d{4}) ms$/.exec(lines.at(-2)!);
    const pct = /^Percentiles: 50th = (\d+\.\d{3}), 99th = (\d+\.\d{3}), 99\.9th = (\d+\.\d{3})$/.exec(lines.at(-1)!);
    assert.ok(avg && pct, r.stdout);
    const [p50, p99, p999] = pct.slice(1).map(Number);
    assert.ok(Number(avg[1]) > 0 && p50 > 0 && p50 <= p99 && p99 <= p999, r.stdout);
    // Exactly the 200 records went through the partition the tool created.
    const consumed = ok(await runCli(['consume', '-t', 'e2e', '-f', '%S\\n', '-b', address], { timeoutMs: 20_000 }));
    assert.equal(consumed.stdout, '64\n'.repeat(200));
  });
});
