import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { CLI_ENTRY, runCli } from '../../helpers/cli.js';
import { Admin } from '../../../src/client/admin.js';
import { openBrokerWithAdmin, produce, type TestBroker } from '../client/admin-fixtures.js';
import { renderFrame, TopSampler, type TopView } from '../../../src/cli/top-view.js';
import { top } from '../../../src/cli/top.js';

let broker: TestBroker;
let admin: Admin;
let metrics: Server;
let metricsBase: string;

/** Two scrapes of a broker's endpoint, 2 s apart in the sampler tests (names as in the issue-12 contract). */
const SCRAPE_A = `# TYPE kafka_network_requestmetrics_requests_total counter
kafka_network_requestmetrics_requests_total{request="Produce",version="9"} 100
kafka_network_requestmetrics_requests_total{request="Fetch",version="16"} 50
kafka_network_requestmetrics_errors_total{request="Produce",error="NONE"} 0
kafka_network_requestmetrics_errors_total{request="Produce",error="NOT_LEADER_OR_FOLLOWER"} 1
# TYPE kafka_network_requestmetrics_totaltimems histogram
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="1"} 10
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="5"} 60
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="10"} 90
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="+Inf"} 100
kafka_network_requestmetrics_totaltimems_sum{request="Produce",version="9"} 400
kafka_network_requestmetrics_totaltimems_count{request="Produce",version="9"} 100
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="16",le="1"} 50
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="16",le="+Inf"} 50
kafka_server_brokertopicmetrics_bytesin_total{topic="a"} 1000
kafka_server_brokertopicmetrics_bytesout_total{topic="a"} 0
kafka_server_brokertopicmetrics_messagesin_total{topic="a"} 500
kafka_server_socket_server_metrics_connection_count{listener="PLAINTEXT"} 3
kafka_server_socket_server_metrics_connection_count{listener="SSL"} 2
kafka_log_logflushstats_logflushtimems_bucket{le="1"} 5
kafka_log_logflushstats_logflushtimems_bucket{le="10"} 5
kafka_log_logflushstats_logflushtimems_bucket{le="100"} 5
kafka_log_logflushstats_logflushtimems_bucket{le="+Inf"} 5
nodejs_eventloop_lag_seconds 0.001
nodejs_eventloop_lag_p99_seconds 0.004
`;
const SCRAPE_B = `kafka_network_requestmetrics_requests_total{request="Produce",version="9"} 300
kafka_network_requestmetrics_requests_total{request="Fetch",version="16"} 90
kafka_network_requestmetrics_errors_total{request="Produce",error="NONE"} 100
kafka_network_requestmetrics_errors_total{request="Produce",error="NOT_LEADER_OR_FOLLOWER"} 5
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="1"} 30
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="5"} 180
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="10"} 290
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="+Inf"} 300
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="16",le="1"} 90
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="16",le="+Inf"} 90
kafka_server_brokertopicmetrics_bytesin_total{topic="a"} ${1000 + 2 * 1024 * 1024}
kafka_server_brokertopicmetrics_bytesout_total{topic="a"} 4096
kafka_server_brokertopicmetrics_messagesin_total{topic="a"} 700
kafka_server_socket_server_metrics_connection_count{listener="PLAINTEXT"} 3
kafka_server_socket_server_metrics_connection_count{listener="SSL"} 2
kafka_log_logflushstats_logflushtimems_bucket{le="1"} 5
kafka_log_logflushstats_logflushtimems_bucket{le="10"} 15
kafka_log_logflushstats_logflushtimems_bucket{le="100"} 15
kafka_log_logflushstats_logflushtimems_bucket{le="+Inf"} 15
nodejs_eventloop_lag_seconds 0.0025
nodejs_eventloop_lag_p99_seconds 0.012
`;

before(async () => {
  ({ broker, admin } = await openBrokerWithAdmin());
  // Each distinct path is its own endpoint: the first GET answers SCRAPE_A, later ones SCRAPE_B; /broken answers 500.
  const hits = new Map<string, number>();
  metrics = createServer((req, res) => {
    if (req.url === '/broken') {
      res.writeHead(500).end('no');
      return;
    }
    const n = hits.get(req.url ?? '') ?? 0;
    hits.set(req.url ?? '', n + 1);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(n === 0 ? SCRAPE_A : SCRAPE_B);
  });
  await new Promise<void>((resolve) => metrics.listen(0, '127.0.0.1', resolve));
  metricsBase = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
});

after(async () => {
  await admin.close();
  await broker.close();
  await new Promise<void>((resolve) => metrics.close(() => resolve()));
});

/** A clock the test moves. */
function clock(start = 1_700_000_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => { t += ms; } };
}

/** A frame's table rows split on runs of 2+ spaces. */
function tableOf(lines: string[], header: string | RegExp): string[][] {
  const i = lines.findIndex((l) => (typeof header === 'string' ? l.startsWith(header) : header.test(l)));
  assert.ok(i >= 0, `no ${header} table in:\n${lines.join('\n')}`);
  const out: string[][] = [];
  for (const l of lines.slice(i + 1)) {
    if (l === '') break;
    out.push(l.trim().split(/ {2,}/));
  }
  return out;
}

test('messages/s from end-offset deltas, group lag = end − committed, lag trend, over a real broker (exact, with an injected clock)', async () => {
  await admin.createTopics([{ name: 'top-a', numPartitions: 3 }, { name: 'top-b', numPartitions: 1 }]);
  const c = clock();
  const sampler = new TopSampler(admin, { now: c.now });
  const first = await sampler.sample();
  const a0 = first.topics.find((t) => t.name === 'top-a')!;
  assert.deepEqual([a0.partitions, a0.messagesPerSec, a0.endOffsets], [3, undefined, 0]);
  assert.equal(first.elapsedMs, undefined);
  assert.ok(first.topics.every((t) => !t.name.startsWith('__')), 'internal topics are left out');
  assert.match(renderFrame(first).join('\n'), /rates appear from the second sample on/);

  await produce(broker.address, 'top-a', 0, Array.from({ length: 100 }, (_, i) => `a${i}`));
  await produce(broker.address, 'top-a', 1, Array.from({ length: 200 }, (_, i) => `b${i}`));
  await produce(broker.address, 'top-b', 0, Array.from({ length: 50 }, (_, i) => `c${i}`));
  await admin.alterGroupOffsets('top-g', [{ topic: 'top-a', partition: 0, offset: 40 }, { topic: 'top-a', partition: 1, offset: 200 }]);
  c.advance(2000);
  const second = await sampler.sample();
  assert.equal(second.elapsedMs, 2000);
  const rates = second.topics.filter((t) => t.name.startsWith('top-')).map((t) => [t.name, t.messagesPerSec, t.endOffsets]);
  assert.deepEqual(rates, [['top-a', 150, 300], ['top-b', 25, 50]], 'sorted by messages/s');
  const g = second.groups.find((x) => x.groupId === 'top-g')!;
  assert.deepEqual([g.lag, g.lagPerSec, g.state, g.members], [60, undefined, 'Empty', 0]);

  await produce(broker.address, 'top-a', 0, Array.from({ length: 100 }, (_, i) => `d${i}`));
  c.advance(4000);
  const third = await sampler.sample();
  assert.equal(third.topics.find((t) => t.name === 'top-a')!.messagesPerSec, 25);
  assert.equal(third.topics.find((t) => t.name === 'top-b')!.messagesPerSec, 0);
  const g3 = third.groups.find((x) => x.groupId === 'top-g')!;
  assert.deepEqual([g3.lag, g3.lagPerSec], [160, 25], 'lag 160 = (200 − 40) + (200 − 200); rising by 100 in 4 s');

  // The group catches up: the trend goes negative.
  await admin.alterGroupOffsets('top-g', [{ topic: 'top-a', partition: 0, offset: 200 }]);
  c.advance(1000);
  const fourth = await sampler.sample();
  const g4 = fourth.groups.find((x) => x.groupId === 'top-g')!;
  assert.deepEqual([g4.lag, g4.lagPerSec], [0, (0 - 60) / 5], 'trend over the samples kept: 60 → 0 in 5 s');

  const lines = renderFrame(third, { source: broker.address });
  assert.match(lines[0]!, /^tributary top {2}2023-11-14 22:13:26Z {2}over 4\.000 s {2}127\.0\.0\.1:\d+ {2}cluster \S+ {2}controller \d+$/);
  assert.match(lines[1]!, /^brokers: 1 {2}topics: \d+ {2}partitions: \d+ {2}under-replicated: 0 {2}offline: 0 {2}groups: 1$/);
  assert.deepEqual(tableOf(lines, 'TOPIC').filter((r) => r[0]!.startsWith('top-')), [['top-a', '3', '25.0', '400'], ['top-b', '1', '0.0', '50']]);
  assert.deepEqual(tableOf(lines, 'GROUP'), [['top-g', 'classic', 'Empty', '0', '160', '+25.0/s']]);
  const [brokerRow] = tableOf(lines, 'BROKER');
  assert.equal(brokerRow![5], 'yes', 'the single broker is the controller');
  assert.equal(Number(brokerRow![3]), third.partitionCount, 'it leads every partition');
  await admin.deleteGroups(['top-g']);
});

test('--metrics-url figures: requests/s, errors/s, p50/p99 per API from bucket deltas, bytes/s, connections, event-loop lag, fsync p99', async () => {
  const c = clock();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/metrics`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const sampler = new TopSampler(admin, { now: c.now, metricsUrls: [`${metricsBase}/sampler`, `${metricsBase}/broken`, closedUrl] });
  const first = await sampler.sample();
  assert.equal(first.metrics!.requestsPerSec, undefined, 'a rate needs two scrapes');
  assert.equal(first.metrics!.connections, 5, 'gauges show at once (summed over listeners)');
  assert.equal(first.metrics!.errors.length, 2);
  assert.match(first.metrics!.errors[0]!, /\/broken: HTTP 500$/);
  assert.equal(first.metrics!.errors[1]!.startsWith(`${closedUrl}: `), true);
  assert.match(first.metrics!.errors[1]!, /ECONNREFUSED/);
  c.advance(2000);
  const m = (await sampler.sample()).metrics!;
  assert.equal(m.requestsPerSec, (200 + 40) / 2);
  assert.equal(m.errorsPerSec, 4 / 2, 'error=NONE is not an error');
  assert.equal(m.messagesInPerSec, 100);
  assert.equal(m.bytesInPerSec, 1024 * 1024);
  assert.equal(m.bytesOutPerSec, 2048);
  assert.equal(m.connections, 5);
  assert.equal(m.eventLoopLagMs, 2.5);
  assert.equal(m.eventLoopLagP99Ms, 12);
  // Flushes between the scrapes: 10, all in (1, 10] → p99 at rank 9.9.
  assert.ok(Math.abs(m.fsyncP99Ms! - (1 + 9 * 0.99)) < 1e-9);
  // Produce between the scrapes: 20 ≤ 1 ms, 100 in (1, 5], 80 in (5, 10]; p50 at rank 100, p99 at rank 198.
  assert.deepEqual(m.apis.map((a) => a.request), ['Produce', 'Fetch']);
  const produceRow = m.apis[0]!;
  assert.equal(produceRow.perSec, 100);
  assert.ok(Math.abs(produceRow.p50Ms! - (1 + 4 * (80 / 100))) < 1e-9);
  assert.ok(Math.abs(produceRow.p99Ms! - (5 + 5 * (78 / 80))) < 1e-9);
  assert.equal(m.apis[1]!.perSec, 20);
  assert.ok(Math.abs(m.apis[1]!.p50Ms! - 0.5) < 1e-9 && Math.abs(m.apis[1]!.p99Ms! - 0.99) < 1e-9);

  const lines = renderFrame({ ...(await sampler.sample()), metrics: m });
  assert.match(lines.join('\n'), /^metrics {2}requests: 120\/s {2}errors: 2\.0\/s {2}messages in: 100\/s {2}bytes in: 1\.0 MiB\/s {2}bytes out: 2\.0 KiB\/s {2}connections: 5 {2}event-loop lag: 2\.50 ms \(p99 12\.0 ms\) {2}fsync p99: 9\.91 ms$/m);
  assert.deepEqual(tableOf(lines, 'API'), [['Produce', '100', '4.20', '9.88'], ['Fetch', '20.0', '0.50', '0.99']]);
});

/** A view with many rows, to see the frame fitted to a terminal. */
function bigView(): TopView {
  const topics = Array.from({ length: 40 }, (_, i) => ({ name: `topic-${i}`, partitions: 1, messagesPerSec: 40 - i, endOffsets: 1000 }));
  const groups = Array.from({ length: 3 }, (_, i) => ({ groupId: `g${i}`, type: 'consumer', state: 'Stable', members: 1, lag: 10 * i, lagPerSec: 0 }));
  return {
    time: 0, elapsedMs: 1000, clusterId: 'c', controllerId: 1,
    brokers: [{ nodeId: 1, host: 'h', port: 9092, rack: null, isController: true, leaders: 40, replicas: 80 }, { nodeId: 2, host: 'h', port: 9093, rack: 'r2', isController: false, leaders: 0, replicas: 80 }],
    topicCount: 40, partitionCount: 40, underReplicated: 30, offline: 1,
    problems: [{ topic: 'topic-0', partition: 0, leader: -1, replicas: [1, 2], isr: [], status: 'offline' },
      ...Array.from({ length: 30 }, (_, i) => ({ topic: `topic-${i + 1}`, partition: 0, leader: 1, replicas: [1, 2], isr: [1], status: 'under-replicated' as const }))],
    topics, groups,
  };
}

test('a frame fits the terminal: small tables whole, the large ones share the rest with "… N more"; lines cut at the width', () => {
  const lines = renderFrame(bigView(), { width: 50, height: 30, footer: 'q or Ctrl-C to quit' });
  assert.equal(lines.length, 30);
  assert.ok(lines.every((l) => l.length <= 50));
  assert.equal(lines[lines.length - 1], 'q or Ctrl-C to quit');
  const groups = tableOf(lines, 'GROUP');
  assert.equal(groups.length, 3, 'the groups table is small: whole');
  assert.equal(tableOf(lines, 'BROKER').length, 2);
  // 30 rows − 2 header lines − 4 × (blank + header) − footer = 19; groups 3, brokers 2, then 7 each for topics and problems.
  const topicRows = tableOf(lines, 'TOPIC  ');
  assert.equal(topicRows.length, 7);
  assert.deepEqual(topicRows[0], ['topic-0', '1', '40.0', '1000'], 'the busiest topic first');
  assert.deepEqual(topicRows[6], ['… 34 more']);
  const problems = tableOf(lines, /^TOPIC +PARTITION /);
  assert.deepEqual(problems[0], ['topic-0', '0', '-1', '1,2', '-', 'offline'], 'offline partitions before under-replicated ones');
  assert.deepEqual(problems.slice(-2), [['… 25 more'], ['q or Ctrl-C to quit']]);

  const limited = renderFrame(bigView(), { limit: 2 });
  assert.deepEqual(tableOf(limited, 'TOPIC  ').map((r) => r[0]), ['topic-0', 'topic-1', '… 38 more']);
  assert.equal(tableOf(limited, 'GROUP').length, 3, '--limit 2 shows 2 rows and how many more');
  assert.equal(renderFrame(bigView()).filter((l) => l.startsWith('topic-')).length, 40 + 31, 'no height, no limit: every row (topics and problem partitions)');
});

test('on a terminal: alternate screen, cursor home and clear-to-end per frame, restored at the end; --iterations stops', async () => {
  const chunks: string[] = [];
  const output = { isTTY: true, columns: 70, rows: 18, write: (s: string) => chunks.push(s) > 0 };
  const input = new PassThrough();
  await top({ bootstrapServer: broker.address, property: {}, intervalMs: 100, iterations: 3, metricsUrl: [] }, output, input);
  assert.equal(chunks[0], '\x1b[?1049h\x1b[?25l', 'enters the alternate screen and hides the cursor');
  assert.equal(chunks[chunks.length - 1], '\x1b[?25h\x1b[?1049l', 'leaves it and shows the cursor');
  const frames = chunks.slice(1, -1);
  assert.equal(frames.length, 3);
  for (const f of frames) {
    assert.ok(f.startsWith('\x1b[H') && f.endsWith('\x1b[J'), 'one write per frame: home … clear to the end of the screen');
    const lines = f.slice(3, -3).split('\r\n');
    assert.ok(lines.length <= 18, `at most the terminal's rows, got ${lines.length}`);
    assert.ok(lines.every((l) => (l.endsWith('\x1b[K') ? l.slice(0, -3) : l).length <= 70));
    assert.match(lines[lines.length - 1]!, /^q or Ctrl-C to quit/);
    assert.ok(!f.includes('\n\n'), 'no scrolling newlines');
  }
  assert.match(frames[2]!, /over \d+\.\d{3} s/);
});

test('the CLI: --help with examples; --once prints one plain frame with exact lag; bad input fails with a clear error', async () => {
  await admin.createTopics([{ name: 'top-cli', numPartitions: 2 }]);
  await produce(broker.address, 'top-cli', 0, Array.from({ length: 30 }, (_, i) => `x${i}`));
  await produce(broker.address, 'top-cli', 1, Array.from({ length: 12 }, (_, i) => `y${i}`));
  await admin.alterGroupOffsets('top-cli-g', [{ topic: 'top-cli', partition: 0, offset: 5 }, { topic: 'top-cli', partition: 1, offset: 12 }]);
  const [help, once, badUrl, noBroker] = await Promise.all([
    runCli(['top', '--help'], { timeoutMs: 20_000 }),
    runCli(['top', '--once', '--interval-ms', '200', '-b', broker.address, '--metrics-url', `${metricsBase}/cli-once`], { timeoutMs: 20_000 }),
    runCli(['top', '--once', '--metrics-url', 'ftp://127.0.0.1/x', '-b', broker.address], { timeoutMs: 20_000 }),
    runCli(['top', '--once', '-b', '127.0.0.1:1', '-X', 'retries=0'], { timeoutMs: 20_000 }),
  ]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /Examples:\n {2}\$ tributary top\n/);
  assert.match(help.stdout, /--metrics-url <url>/);
  assert.match(help.stdout, /--command-config <file>/, 'the client security options, as the other commands');

  assert.equal(once.code, 0, once.stderr);
  assert.ok(!once.stdout.includes('\x1b'), 'no escape sequences when stdout is not a terminal');
  const lines = once.stdout.trimEnd().split('\n');
  assert.match(lines[0]!, / {2}over 0\.\d{3} s {2}/, '--once samples twice, --interval-ms apart, for the rates');
  assert.deepEqual(tableOf(lines, 'TOPIC').find((r) => r[0] === 'top-cli'), ['top-cli', '2', '0.0', '42']);
  assert.deepEqual(tableOf(lines, 'GROUP').find((r) => r[0] === 'top-cli-g')?.slice(0, 6), ['top-cli-g', 'classic', 'Empty', '0', '25', '0.0/s']);
  const api = tableOf(lines, 'API')[0]!;
  assert.deepEqual([api[0], api[2], api[3]], ['Produce', '4.20', '9.88'], 'latency quantiles from the real HTTP endpoint');
  assert.match(once.stdout, /connections: 5 /);

  assert.equal(badUrl.code, 1);
  assert.match(badUrl.stderr, /^error: --metrics-url must be http:\/\/ or https:\/\/; got "ftp:\/\/127\.0\.0\.1\/x"\n\(run with --help for usage\)\n$/);
  assert.equal(noBroker.code, 1);
  assert.match(noBroker.stderr, /^error: .*127\.0\.0\.1:1/);
  assert.equal(noBroker.stdout, '');
  await admin.deleteGroups(['top-cli-g']);
});

test('the CLI piped: --iterations frames as plain lines; records produced between two frames show as their rate over the printed interval', async () => {
  await admin.createTopics([{ name: 'top-live', numPartitions: 1 }]);
  const child = spawn(process.execPath, [CLI_ENTRY, 'top', '--iterations', '2', '--interval-ms', '1500', '-b', broker.address], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const firstFrame = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    if (stdout.includes('BROKER') && stdout.endsWith('\n\n')) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  const deadline = setTimeout(() => child.kill('SIGKILL'), 20_000);
  try {
    await firstFrame;
    // Between the first sample and the second: exactly 300 records.
    await produce(broker.address, 'top-live', 0, Array.from({ length: 300 }, (_, i) => `z${i}`));
    assert.equal(await exited, 0, stderr);
  } finally {
    clearTimeout(deadline);
  }
  const frames = stdout.trimEnd().split(/\n\n(?=tributary top)/);
  assert.equal(frames.length, 2);
  const second = frames[1]!.split('\n');
  const seconds = Number(/ {2}over (\d+\.\d{3}) s {2}/.exec(second[0]!)![1]);
  assert.ok(seconds >= 1.4 && seconds < 5, `interval ${seconds}`);
  const row = tableOf(second, 'TOPIC').find((r) => r[0] === 'top-live')!;
  assert.equal(row[3], '300');
  // The rate printed is 300 over the interval measured (printed to the millisecond: ±1 after rounding).
  assert.ok(Math.abs(Number(row[2]) - 300 / seconds) <= 1, `${row[2]} vs ${300 / seconds}`);
});
