/**
 * The metrics after kcat's traffic (librdkafka's own Produce/Fetch versions and batching): messages in move by
 * exactly the records kcat produced, bytes in by what the log holds, bytes out by what kcat read back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type RunningBroker } from '../../src/index.js';
import { run } from './support/processes.js';
import { find, scrape, sum } from '../helpers/prometheus-text.js';

describe('metrics after kcat', () => {
  let broker: RunningBroker;
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-metrics-kcat-'));
    broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'metrics.port': 0, 'num.partitions': '1' } });
  });
  after(async () => {
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('kcat -P of N records moves messagesin by N; kcat -C moves bytesout by the bytes in the log', async () => {
    const N = 1500;
    const input = Array.from({ length: N }, (_, i) => `record-${i}`).join('\n') + '\n';
    await run('kcat', ['-b', broker.address, '-P', '-t', 'mk', '-X', 'linger.ms=20'], { input, timeoutMs: 60_000 });
    const e1 = await scrape(broker.metricsUrl!);
    assert.equal(sum(e1, 'kafka_server_brokertopicmetrics_messagesin_total', { topic: 'mk' }), N);
    const logBytes = broker.context.topics.log('mk', 0).size();
    assert.equal(sum(e1, 'kafka_server_brokertopicmetrics_bytesin_total', { topic: 'mk' }), logBytes);
    const produces = find(e1, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' });
    assert.ok(produces.length >= 1 && produces.every((s) => Number(s.labels.version) >= 3));
    assert.equal(sum(e1, 'kafka_server_brokertopicmetrics_totalproducerequests_total', { topic: 'mk' }), sum(e1, 'kafka_network_requestmetrics_requests_total', { request: 'Produce' }));

    const out = await run('kcat', ['-b', broker.address, '-C', '-t', 'mk', '-o', 'beginning', '-e', '-q', '-X', 'fetch.wait.max.ms=10'], { timeoutMs: 60_000 });
    assert.equal(out.stdout.split('\n').filter((l) => l !== '').length, N);
    const e2 = await scrape(broker.metricsUrl!);
    assert.equal(sum(e2, 'kafka_server_brokertopicmetrics_bytesout_total', { topic: 'mk' }), logBytes);
    assert.ok(sum(e2, 'kafka_network_requestmetrics_requests_total', { request: 'Fetch' }) >= 1);
  });
});
