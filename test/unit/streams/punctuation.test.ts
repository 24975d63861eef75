import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PunctuationType, Record, Serdes, Stores, StreamsBuilder, Topology, TopologyTestDriver, type Cancellable, type ProcessorContext,
} from '../../../src/streams/index.js';

const S = Serdes.String();
const props = { 'application.id': 'punct', 'default.key.serde': S, 'default.value.serde': S };

test('stream time is the largest timestamp seen; stream-time punctuations align to the interval and skip missed ones', () => {
  const fired: number[] = [];
  const times: number[] = [];
  const b = new StreamsBuilder();
  b.stream<string, string>('in').process<string, string>(() => {
    let ctx: ProcessorContext<string, string>;
    return {
      init(c) {
        ctx = c;
        c.schedule(10, PunctuationType.STREAM_TIME, (ts) => {
          fired.push(ts);
          c.forward(new Record('tick', String(ts), ts));
        });
      },
      process(r) { times.push(ctx.currentStreamTimeMs()); ctx.forward(r); },
    };
  }).to('out');
  const driver = new TopologyTestDriver(b.build(), props, 0);
  const input = driver.createInputTopic('in', S, S);
  for (const ts of [3, 7, 15, 12, 41]) input.pipeInput('k', String(ts), ts);
  assert.deepEqual(times, [3, 7, 15, 15, 41]);
  assert.deepEqual(fired, [3, 15, 41]);
  assert.deepEqual(driver.createOutputTopic('out', S, S).readKeyValuesToList().map((kv) => `${kv.key}:${kv.value}`), [
    'k:3', 'tick:3', 'k:7', 'k:15', 'tick:15', 'k:12', 'k:41', 'tick:41',
  ]);
  assert.equal(driver.metrics()['punctuate-total'], 3);
});

test('wall-clock punctuations fire as advanceWallClockTime passes each interval, once per call, until cancelled', () => {
  const fired: number[] = [];
  let cancellable: Cancellable | undefined;
  const topology = new Topology()
    .addSource('src', 'in')
    .addProcessor('p', () => ({
      init(c: ProcessorContext<never, never>) {
        cancellable = c.schedule(100, PunctuationType.WALL_CLOCK_TIME, (ts) => fired.push(ts));
        assert.equal(c.currentSystemTimeMs(), 1000);
      },
      process() {},
    }), 'src');
  const driver = new TopologyTestDriver(topology, props, 1000);
  driver.advanceWallClockTime(50);
  assert.deepEqual(fired, []);
  driver.advanceWallClockTime(50);
  assert.deepEqual(fired, [1100]);
  driver.advanceWallClockTime(250);
  assert.deepEqual(fired, [1100, 1350], 'missed intervals are not caught up');
  driver.advanceWallClockTime(50);
  assert.deepEqual(fired, [1100, 1350, 1400]);
  cancellable!.cancel();
  driver.advanceWallClockTime(500);
  assert.deepEqual(fired, [1100, 1350, 1400]);
  assert.throws(() => driver.advanceWallClockTime(-1), /does not go back/);
});

test('recordMetadata gives topic, partition and offset while processing, null in a punctuation; the context names the task', () => {
  const seen: string[] = [];
  const topology = new Topology()
    .addSource('src', ['a', 'b'], { keySerde: S, valueSerde: S })
    .addProcessor('p', () => {
      let ctx: ProcessorContext<never, never>;
      return {
        init(c: ProcessorContext<never, never>) {
          ctx = c;
          c.schedule(5, PunctuationType.WALL_CLOCK_TIME, () => seen.push(`punctuate ${JSON.stringify(c.recordMetadata())}`));
        },
        process(r: Record<string, string>) {
          const m = ctx.recordMetadata()!;
          seen.push(`${ctx.applicationId} ${ctx.taskId} ${m.topic}/${m.partition}@${m.offset} ${r.key}`);
        },
      };
    }, 'src');
  const driver = new TopologyTestDriver(topology, props, 0);
  driver.createInputTopic('a', S, S).pipeInput('x', '1', 0);
  driver.createInputTopic('b', S, S).pipeInput('y', '1', 0);
  driver.createInputTopic('a', S, S).pipeInput('z', '1', 0);
  driver.advanceWallClockTime(5);
  assert.deepEqual(seen, ['punct 0_0 a/0@0 x', 'punct 0_0 b/0@0 y', 'punct 0_0 a/0@1 z', 'punctuate null']);
});

test('a processor may forward to one named child', () => {
  const topology = new Topology()
    .addSource('src', 'in', { keySerde: S, valueSerde: S })
    .addProcessor('router', () => {
      let ctx: ProcessorContext<string, string>;
      return {
        init(c: ProcessorContext<string, string>) { ctx = c; },
        process(r: Record<string, string>) { ctx.forward(r, r.value === 'left' ? 'left-sink' : 'right-sink'); },
      };
    }, 'src')
    .addSink('left-sink', 'left', 'router', { keySerde: S, valueSerde: S })
    .addSink('right-sink', 'right', 'router', { keySerde: S, valueSerde: S });
  const driver = new TopologyTestDriver(topology, props, 0);
  const input = driver.createInputTopic('in', S, S);
  input.pipeInput('1', 'left', 0);
  input.pipeInput('2', 'right', 0);
  input.pipeInput('3', 'left', 0);
  assert.deepEqual(driver.createOutputTopic('left', S, S).readKeyValuesToList().map((kv) => kv.key), ['1', '3']);
  assert.deepEqual(driver.createOutputTopic('right', S, S).readKeyValuesToList().map((kv) => kv.key), ['2']);
});

test('getStateStore refuses a store the processor is not connected to', () => {
  const topology = new Topology()
    .addSource('src', 'in', { keySerde: S, valueSerde: S })
    .addProcessor('owner', () => ({ process() {} }), 'src')
    .addProcessor('stranger', () => ({ init(c: ProcessorContext<never, never>) { c.getStateStore('kv'); }, process() {} }), 'src')
    .addStateStore(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore('kv'), S, S), 'owner');
  assert.throws(() => new TopologyTestDriver(topology, props, 0), /processor stranger is not connected to store kv/);
});
