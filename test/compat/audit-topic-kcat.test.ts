/**
 * The audit topic (audit.log.topic) read by a real client: kafkajs makes the changes, kcat (librdkafka) reads the
 * events back from the topic, and they are the same lines as the audit file's.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { startTestBroker, type TestBroker } from './support/broker.js';
import { run } from './support/processes.js';

describe('audit topic read by kcat', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ 'audit.log.topic': 'audit-events' });
  });
  after(async () => {
    await broker?.close();
  });

  test('kafkajs changes → JSON events in the topic, as kcat reads them, identical to the file', async () => {
    const kafka = new Kafka({ clientId: 'kafkajs-auditor', brokers: [broker.address], logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({ topics: [{ topic: 'payments', numPartitions: 2 }] });
      await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'payments', configEntries: [{ name: 'retention.ms', value: '60000' }] }] });
      await admin.deleteTopics({ topics: ['payments'] });
    } finally {
      await admin.disconnect();
    }
    let events: any[] = [];
    for (let i = 0; i < 20 && events.length < 3; i++) {
      const r = await run('kcat', ['-b', broker.address, '-C', '-t', 'audit-events', '-o', 'beginning', '-e', '-q', '-f', '%s\\n'], { timeoutMs: 30_000 }).catch(() => null);
      events = (r?.stdout ?? '').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
      if (events.length < 3) await new Promise((res) => setTimeout(res, 200));
    }
    assert.deepEqual(events.map((e) => [e.operation, e.resource.type, e.resource.name, e.result]), [
      ['CreateTopics', 'TOPIC', 'payments', 'success'],
      ['AlterConfigs', 'TOPIC', 'payments', 'success'],
      ['DeleteTopics', 'TOPIC', 'payments', 'success'],
    ]);
    for (const e of events) {
      assert.equal(e.clientId, 'kafkajs-auditor');
      assert.equal(e.principal, 'User:ANONYMOUS');
      assert.equal(e.clientHost, '127.0.0.1');
    }
    assert.deepEqual(events[1].details.configs, { 'retention.ms': '60000' });
    const fileLines = readFileSync(join(broker.dataDir, 'audit', 'audit.log'), 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
    // The same lines, but for the timestamp each sink takes when the event is recorded (the same millisecond or the next).
    const untimed = (xs: any[]) => xs.map(({ timestamp: _t, ...rest }) => rest);
    assert.deepEqual(untimed(events), untimed(fileLines));
    events.forEach((e, i) => assert.ok(Math.abs(Date.parse(e.timestamp) - Date.parse(fileLines[i].timestamp)) <= 5));
  });
});
