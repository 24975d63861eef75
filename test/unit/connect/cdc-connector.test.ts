/**
 * The CDC runtime against an in-process broker, with a scripted CdcSource (a list of change events, what any
 * capture source hands over): records on one topic per table (created on first use), a tombstone after a delete,
 * the offset stored in connect-offsets under {server: prefix} and only then acknowledged to the source, and a
 * second run handed the stored offset — at-least-once and exactly-once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Admin } from '../../../src/client/admin.js';
import { Consumer } from '../../../src/client/consumer.js';
import { CdcSourceConnector } from '../../../src/connect/cdc/connector.js';
import type { CdcOffset, CdcSource, ChangeEvent } from '../../../src/connect/cdc/change-event.js';
import { loadSourceOffsets } from '../../../src/connect/source-offsets.js';
import { runSourcePipeline } from '../../../src/connect/source-runtime.js';
import { parsePipeline } from '../../../src/connect/config.js';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';

/** Emits `events` after the one whose offset.n equals the given offset's n, then ends (a drained source). */
class ScriptedSource implements CdcSource {
  readonly connector = 'mysql';
  readonly acknowledged: CdcOffset[] = [];
  startedFrom: CdcOffset | null | undefined;
  constructor(private readonly script: ChangeEvent[]) {}
  async *events(offset: CdcOffset | null): AsyncIterable<ChangeEvent> {
    this.startedFrom = offset;
    const from = offset === null ? 0 : Number(offset.n);
    for (const e of this.script) if (Number(e.offset.n) > from) yield e;
  }
  acknowledge(offset: CdcOffset): void {
    this.acknowledged.push(offset);
  }
  async stop(): Promise<void> {}
}

const event = (n: number, op: ChangeEvent['op'], table: string, id: number, before: ChangeEvent['before'], after: ChangeEvent['after']): ChangeEvent => ({
  op, db: 'shop', table, before, after, keyColumns: ['id'], sourceTsMs: 1_700_000_000_000 + n, snapshot: 'false', sourceFields: {}, offset: { n, file: 'b.000001' },
});

const devNull = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

describe('CDC connector in the source runtime', () => {
  let broker: TestBroker;
  before(async () => {
    broker = await startTestBroker({ 'num.partitions': '1' });
  });
  after(async () => {
    await broker?.close();
  });

  async function read(topic: string): Promise<Array<{ key: string | null; op: string | null }>> {
    const admin = new Admin({ bootstrapServers: broker.address });
    const [end] = await admin.listOffsets([{ topic, partition: 0, timestamp: 'latest' }], { isolationLevel: 'read_committed' });
    await admin.close();
    const c = new Consumer({ bootstrapServers: broker.address, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' });
    try {
      await c.connect();
      c.assign([{ topic, partition: 0 }]);
      const out: Array<{ key: string | null; op: string | null }> = [];
      while ((c.position({ topic, partition: 0 }) ?? 0) < end.offset) {
        for (const r of await c.poll(200)) out.push({ key: r.key?.toString() ?? null, op: r.value === null ? null : (JSON.parse(r.value.toString()) as { op: string }).op });
      }
      return out;
    } finally {
      await c.close();
    }
  }

  for (const guarantee of ['at-least-once', 'exactly-once'] as const) {
    test(`${guarantee}: topics per table, tombstones, the offset stored then acknowledged, a rerun resumes after it`, async () => {
      const prefix = `p-${guarantee}`;
      const p = parsePipeline({ name: `cdc-${guarantee}`, source: { type: 'mysql', url: 'mysql://h/', tables: ['shop.orders', 'shop.customers'], prefix, guarantee } }, 0, process.cwd());
      const script = [
        event(1, 'c', 'orders', 1, null, { id: 1, total: '9.50' }),
        event(2, 'c', 'customers', 7, null, { id: 7, name: 'ann' }),
        event(3, 'd', 'orders', 1, { id: 1, total: '9.50' }, null),
      ];
      const first = new ScriptedSource(script);
      const options = { prefix, tombstones: true, cleanupPolicy: 'compact' as const };
      await runSourcePipeline(p, { bootstrapServers: broker.address }, { connector: new CdcSourceConnector(p.name, async () => first, options, 'mysql'), stream: devNull });
      assert.equal(first.startedFrom, null);
      assert.deepEqual(await read(`${prefix}.shop.orders`), [{ key: '{"id":1}', op: 'c' }, { key: '{"id":1}', op: 'd' }, { key: '{"id":1}', op: null }]);
      assert.deepEqual(await read(`${prefix}.shop.customers`), [{ key: '{"id":7}', op: 'c' }]);
      const admin = new Admin({ bootstrapServers: broker.address });
      const configs = await admin.describeConfigs([{ type: 'topic', name: `${prefix}.shop.orders` }]);
      await admin.close();
      assert.equal(JSON.stringify(configs).includes('"compact"'), true, JSON.stringify(configs));
      const stored = (await loadSourceOffsets({ bootstrapServers: broker.address }, [p.name])).get(p.name)!;
      assert.deepEqual(stored.offset({ server: prefix }), { n: 3, file: 'b.000001' });
      assert.deepEqual(first.acknowledged.at(-1), { n: 3, file: 'b.000001' });

      const second = new ScriptedSource([...script, event(4, 'u', 'customers', 7, { id: 7, name: 'ann' }, { id: 7, name: 'anne' })]);
      await runSourcePipeline(p, { bootstrapServers: broker.address }, { connector: new CdcSourceConnector(p.name, async () => second, options, 'mysql'), stream: devNull });
      assert.deepEqual(second.startedFrom, { n: 3, file: 'b.000001' });
      assert.deepEqual(await read(`${prefix}.shop.customers`), [{ key: '{"id":7}', op: 'c' }, { key: '{"id":7}', op: 'u' }]);
      assert.equal((await read(`${prefix}.shop.orders`)).length, 3);
    });
  }
});
