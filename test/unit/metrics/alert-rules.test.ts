/**
 * The example alerting rules (deploy/prometheus) checked and unit-tested by Debian's promtool (the prometheus
 * package, which CI installs): `promtool check rules`, `promtool check config` and `promtool test rules`, plus the
 * coverage the rule tests must keep (every alert fires in some test and stays quiet in another) and the metric
 * names the rules may use (those the brokers export, the issue-12 contract's, and node_exporter's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { startBroker } from '../../../src/server/broker.js';
import { Producer } from '../../../src/client/producer.js';
import { Admin } from '../../../src/client/admin.js';

const DIR = resolve(import.meta.dirname, '../../../../deploy/prometheus');
const PROMTOOL = '/usr/bin/promtool';

function promtool(args: string[], cwd = DIR): Promise<{ code: number; out: string }> {
  return new Promise((resolvePromise) => {
    execFile(PROMTOOL, args, { cwd, timeout: 20_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolvePromise({ code, out: `${stdout}${stderr}` });
    });
  });
}

interface RuleFile { groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string; for?: string }> }> }
interface RuleTests {
  rule_files: string[];
  tests: Array<{ name: string; alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
}

test('promtool is installed (Debian\'s prometheus package)', () => {
  assert.ok(existsSync(PROMTOOL), `${PROMTOOL} is missing: apt-get install prometheus`);
});

test('promtool check rules and check config accept the rules and the example prometheus.yml', async () => {
  const rules = await promtool(['check', 'rules', 'tributary-alerts.yml']);
  assert.equal(rules.code, 0, rules.out);
  assert.match(rules.out, /SUCCESS: 12 rules found/);
  const config = await promtool(['check', 'config', 'prometheus.yml']);
  assert.equal(config.code, 0, config.out);
  assert.match(config.out, /SUCCESS: 1 rule files found/);
});

test('promtool test rules: every expected alert fires, and nothing else', async () => {
  const r = await promtool(['test', 'rules', 'tributary-alerts.test.yml']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /SUCCESS/);
  assert.doesNotMatch(r.out, /FAILED/);
});

test('the rule tests can fail: a loosened threshold makes promtool report the alert that fires too early', async () => {
  const tmp = await mkdtemp(join(tmpdir(), 'tributary-alerts-'));
  try {
    const rules = await readFile(join(DIR, 'tributary-alerts.yml'), 'utf8');
    const loosened = rules.replace('kafka_consumergroup_lag_sum > 1000', 'kafka_consumergroup_lag_sum > 100');
    assert.notEqual(loosened, rules);
    await writeFile(join(tmp, 'tributary-alerts.yml'), loosened);
    await copyFile(join(DIR, 'tributary-alerts.test.yml'), join(tmp, 'tributary-alerts.test.yml'));
    const r = await promtool(['test', 'rules', 'tributary-alerts.test.yml'], tmp);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /FAILED/);
    assert.match(r.out, /alertname: TributaryConsumerLagGrowing, time: 15m/);
    assert.match(r.out, /consumergroup="audit"/, 'the small group now fires');
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test('every alert is tested both firing and not firing; the rules use only the exported metric names', async () => {
  const rules = parseYaml(await readFile(join(DIR, 'tributary-alerts.yml'), 'utf8')) as RuleFile;
  const tests = parseYaml(await readFile(join(DIR, 'tributary-alerts.test.yml'), 'utf8')) as RuleTests;
  assert.deepEqual(tests.rule_files, ['tributary-alerts.yml']);
  const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
  assert.deepEqual(alerts.map((a) => a.alert).sort(), [
    'TributaryBrokerDown', 'TributaryConsumerLagGrowing', 'TributaryDiskSpaceLow', 'TributaryDiskWillFillIn12Hours',
    'TributaryEventLoopLagHigh', 'TributaryFsyncLatencyHigh', 'TributaryLogSizeGrowing', 'TributaryNoActiveController',
    'TributaryOfflinePartitions', 'TributaryRequestLatencyHigh', 'TributaryUnderMinIsrPartitions', 'TributaryUnderReplicatedPartitions',
  ]);
  const evals = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = evals.filter((e) => e.alertname === a.alert);
    assert.ok(mine.some((e) => (e.exp_alerts ?? []).length > 0), `${a.alert}: no test where it fires`);
    assert.ok(mine.some((e) => (e.exp_alerts ?? []).length === 0), `${a.alert}: no test where it stays quiet`);
  }
  const known = new Set([
    'up',
    'kafka_consumergroup_lag_sum', 'kafka_controller_kafkacontroller_activecontrollercount', 'kafka_controller_kafkacontroller_offlinepartitionscount',
    'kafka_server_replicamanager_underreplicatedpartitions', 'kafka_server_replicamanager_underminisrpartitioncount',
    'kafka_log_log_size', 'kafka_log_logflushstats_logflushtimems_bucket', 'kafka_network_requestmetrics_totaltimems_bucket',
    'nodejs_eventloop_lag_p99_seconds', 'tributary_build_info',
    'node_filesystem_avail_bytes', 'node_filesystem_size_bytes',
  ]);
  const used = new Set(alerts.flatMap((a) => a.expr.match(/\b(?:kafka|nodejs|node|tributary)_[a-z0-9_]+/g) ?? []));
  for (const name of used) assert.ok(known.has(name), `${name} is not a metric the brokers (or node_exporter) export`);
});

test('every broker metric the rules use is served by a real broker\'s /metrics', async () => {
  const rules = parseYaml(await readFile(join(DIR, 'tributary-alerts.yml'), 'utf8')) as RuleFile;
  const used = new Set(rules.groups.flatMap((g) => g.rules).flatMap((r) => r.expr.match(/\b(?:kafka|nodejs|tributary)_[a-z0-9_]+/g) ?? []));
  const dataDir = await mkdtemp(join(tmpdir(), 'alert-rules-broker-'));
  const broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'metrics.port': 0 } });
  try {
    // Traffic that makes every family appear: an acks=all produce (fsync, request times) and a group's commit (lag).
    const producer = new Producer({ bootstrapServers: broker.address, acks: 'all' });
    await producer.send({ topic: 'alerts', value: 'x' });
    await producer.close();
    const admin = new Admin({ bootstrapServers: broker.address });
    await admin.alterGroupOffsets('watchers', [{ topic: 'alerts', partition: 0, offset: 0 }]);
    await admin.close();
    const text = await (await fetch(broker.metricsUrl!)).text();
    const served = new Set(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).map((l) => l.split(/[{ ]/)[0]));
    for (const name of used) assert.ok(served.has(name), `${name} is used by the rules but not served by the broker`);
    assert.ok(used.size >= 9, `the rules use ${used.size} broker metrics`);
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
