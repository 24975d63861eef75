/** The console's reading of a Prometheus endpoint: counter sums, per-topic bytes, p99 from histogram deltas. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { p99Between, parseScrape } from '../../../src/console/metrics-scrape.js';

const text = (n: number): string => `# HELP kafka_server_brokertopicmetrics_bytesin_total Bytes in
# TYPE kafka_server_brokertopicmetrics_bytesin_total counter
kafka_server_brokertopicmetrics_bytesin_total{topic="orders"} ${1000 * n}
kafka_server_brokertopicmetrics_bytesin_total{topic="a \\"quoted\\" name"} ${10 * n}
kafka_server_brokertopicmetrics_bytesout_total{topic="orders"} ${500 * n}
kafka_server_brokertopicmetrics_messagesin_total{topic="orders"} ${10 * n}
kafka_network_requestmetrics_requests_total{request="Produce",version="9"} ${5 * n}
kafka_network_requestmetrics_requests_total{request="Fetch",version="13"} ${7 * n}
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="1"} ${90 * n}
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="5"} ${99 * n}
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="50"} ${100 * n}
kafka_network_requestmetrics_totaltimems_bucket{request="Produce",version="9",le="+Inf"} ${100 * n}
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="13",le="500"} ${n}
kafka_network_requestmetrics_totaltimems_bucket{request="Fetch",version="13",le="+Inf"} ${2 * n}
`;

test('parseScrape sums counters over labels and keeps per-topic bytes in', () => {
  const s = parseScrape(text(2), 1000);
  assert.equal(s.bytesIn, 2020);
  assert.equal(s.bytesOut, 1000);
  assert.equal(s.messagesIn, 20);
  assert.equal(s.requests, 24);
  assert.deepEqual([...s.bytesInByTopic], [['orders', 2000], ['a "quoted" name', 20]]);
  assert.deepEqual([...s.produceBuckets], [[1, 180], [5, 198], [50, 200], [Infinity, 200]]);
});

test('p99Between: the bucket holding the 99th percentile of the observations between two scrapes', () => {
  const a = parseScrape(text(1), 0);
  const b = parseScrape(text(3), 1000);
  assert.equal(p99Between(a.produceBuckets, b.produceBuckets), 5, '198 of 200 new observations ≤ 5 ms');
  assert.equal(p99Between(undefined, a.produceBuckets), 5);
  assert.equal(p99Between(b.produceBuckets, b.produceBuckets), 0, 'no requests in between');
  assert.equal(p99Between(a.fetchBuckets, b.fetchBuckets), 500, 'beyond the last finite bound: that bound');
});
