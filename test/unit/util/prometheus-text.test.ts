import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bucketDelta, histogramQuantile, MetricSet, parsePrometheusText } from '../../../src/util/prometheus-text.js';

const EXPOSITION = `# HELP kafka_network_requestmetrics_requests_total Requests by API and version
# TYPE kafka_network_requestmetrics_requests_total counter
kafka_network_requestmetrics_requests_total{request="Produce",version="9"} 120
kafka_network_requestmetrics_requests_total{request="Produce",version="11"} 30
kafka_network_requestmetrics_requests_total{request="Fetch",version="16"} 7 1700000000000
# TYPE x_bucket_help histogram
escaped{path="C:\\\\dir",quote="say \\"hi\\"",nl="a\\nb"} 1.5e3
spaced { a = "1" , b="2", } -Inf
plain_nan NaN
positive_inf +Inf
not a sample line
bad{a="unterminated} 1
bad_value{a="1"} abc
nodejs_eventloop_lag_seconds 0.0042
# EOF
`;

test('samples: names, labels (escapes, spacing, trailing comma), values (exponents, ±Inf, NaN), timestamps ignored', () => {
  const samples = parsePrometheusText(EXPOSITION);
  assert.deepEqual(samples.map((s) => s.name), [
    'kafka_network_requestmetrics_requests_total', 'kafka_network_requestmetrics_requests_total', 'kafka_network_requestmetrics_requests_total',
    'escaped', 'spaced', 'plain_nan', 'positive_inf', 'nodejs_eventloop_lag_seconds',
  ], 'comments, an unterminated label value and an unreadable value are skipped');
  assert.deepEqual(samples[1], { name: 'kafka_network_requestmetrics_requests_total', labels: { request: 'Produce', version: '11' }, value: 30 });
  assert.equal(samples[2]!.value, 7);
  assert.deepEqual(samples[3]!.labels, { path: 'C:\\dir', quote: 'say "hi"', nl: 'a\nb' });
  assert.equal(samples[3]!.value, 1500);
  assert.deepEqual(samples[4]!.labels, { a: '1', b: '2' });
  assert.equal(samples[4]!.value, -Infinity);
  assert.ok(Number.isNaN(samples[5]!.value));
  assert.equal(samples[6]!.value, Infinity);
});

test('MetricSet: sum, max, sum by a label, merge of several scrapes', () => {
  const a = MetricSet.parse(EXPOSITION);
  assert.equal(a.sum('kafka_network_requestmetrics_requests_total'), 157);
  assert.deepEqual([...a.sumBy('kafka_network_requestmetrics_requests_total', 'request')], [['Produce', 150], ['Fetch', 7]]);
  assert.equal(a.sum('absent'), undefined);
  assert.equal(a.max('nodejs_eventloop_lag_seconds'), 0.0042);
  const b = MetricSet.parse('nodejs_eventloop_lag_seconds 0.01\nkafka_network_requestmetrics_requests_total{request="Fetch",version="16"} 3\n');
  const both = MetricSet.merge([a, b]);
  assert.equal(both.sum('kafka_network_requestmetrics_requests_total'), 160);
  assert.equal(both.max('nodejs_eventloop_lag_seconds'), 0.01);
});

const HISTOGRAM = `# TYPE kafka_network_requestmetrics_totaltimems histogram
kafka_network_requestmetrics_totaltimems_bucket{le="1",request="Produce",version="9"} 10
kafka_network_requestmetrics_totaltimems_bucket{le="5",request="Produce",version="9"} 60
kafka_network_requestmetrics_totaltimems_bucket{le="10",request="Produce",version="9"} 90
kafka_network_requestmetrics_totaltimems_bucket{le="+Inf",request="Produce",version="9"} 100
kafka_network_requestmetrics_totaltimems_sum{request="Produce",version="9"} 480
kafka_network_requestmetrics_totaltimems_count{request="Produce",version="9"} 100
kafka_network_requestmetrics_totaltimems_bucket{le="1",request="Produce",version="11"} 0
kafka_network_requestmetrics_totaltimems_bucket{le="5",request="Produce",version="11"} 0
kafka_network_requestmetrics_totaltimems_bucket{le="10",request="Produce",version="11"} 0
kafka_network_requestmetrics_totaltimems_bucket{le="+Inf",request="Produce",version="11"} 100
`;

test('histograms: buckets summed by (label, le) across versions; quantiles as PromQL histogram_quantile', () => {
  const buckets = MetricSet.parse(HISTOGRAM).bucketsBy('kafka_network_requestmetrics_totaltimems', 'request').get('Produce')!;
  assert.deepEqual(buckets, [{ le: 1, count: 10 }, { le: 5, count: 60 }, { le: 10, count: 90 }, { le: Infinity, count: 200 }]);
  // rank 0.5 × 200 = 100 lies in +Inf: the highest finite bound.
  assert.equal(histogramQuantile(0.5, buckets), 10);
  const v9 = [{ le: 1, count: 10 }, { le: 5, count: 60 }, { le: 10, count: 90 }, { le: Infinity, count: 100 }];
  // rank 50: bucket (1, 5] holds 50 of them from 10 on → 1 + 4 × (40 / 50).
  assert.equal(histogramQuantile(0.5, v9), 1 + 4 * (40 / 50));
  // rank 5 in the first bucket, which starts at 0.
  assert.equal(histogramQuantile(0.05, v9), 0.5);
  // rank 89.1 in (5, 10]: 5 + 5 × (29.1 / 30).
  assert.ok(Math.abs(histogramQuantile(0.891, v9)! - (5 + 5 * (29.1 / 30))) < 1e-9);
  assert.equal(histogramQuantile(0.99, v9), 10);
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }]), undefined, 'no observations');
  assert.equal(histogramQuantile(0.5, [{ le: 1, count: 3 }, { le: 2, count: 3 }]), undefined, 'no +Inf bucket');
});

test('bucket deltas between two scrapes; a counter reset counts from zero', () => {
  const before = [{ le: 1, count: 10 }, { le: 5, count: 60 }, { le: Infinity, count: 70 }];
  const now = [{ le: 1, count: 10 }, { le: 5, count: 160 }, { le: Infinity, count: 170 }];
  const d = bucketDelta(now, before);
  assert.deepEqual(d, [{ le: 1, count: 0 }, { le: 5, count: 100 }, { le: Infinity, count: 100 }]);
  assert.equal(histogramQuantile(0.99, d), 1 + 4 * 0.99);
  const restarted = [{ le: 1, count: 2 }, { le: 5, count: 3 }, { le: Infinity, count: 3 }];
  assert.deepEqual(bucketDelta(restarted, before), restarted);
  assert.deepEqual(bucketDelta(now, undefined), now);
});
