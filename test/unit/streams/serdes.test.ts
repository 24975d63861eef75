import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Serdes, SerializationError, Window, Windowed, WindowedSerdes, type Serde } from '../../../src/streams/index.js';

test('String, JSON and Bytes serdes round-trip and map null to null', () => {
  const s = Serdes.String();
  assert.deepEqual(s.serialize('t', 'héllo'), Buffer.from('héllo', 'utf8'));
  assert.equal(s.deserialize('t', Buffer.from('héllo', 'utf8')), 'héllo');
  assert.equal(s.serialize('t', null), null);
  assert.equal(s.deserialize('t', null), null);
  const j = Serdes.JSON<{ a: number[] }>();
  assert.equal(j.serialize('t', { a: [1, 2] })!.toString(), '{"a":[1,2]}');
  assert.deepEqual(j.deserialize('t', Buffer.from('{"a":[3]}')), { a: [3] });
  assert.throws(() => j.deserialize('t', Buffer.from('{')), SerializationError);
  const b = Serdes.Bytes();
  const buf = Buffer.from([0, 255]);
  assert.equal(b.serialize('t', buf), buf);
});

test('Long, Integer and Double use Kafka big-endian layouts and refuse the wrong width', () => {
  assert.deepEqual(Serdes.Long().serialize('t', 258), Buffer.from([0, 0, 0, 0, 0, 0, 1, 2]));
  assert.deepEqual(Serdes.Long().serialize('t', -1), Buffer.alloc(8, 0xff));
  assert.equal(Serdes.Long().deserialize('t', Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])), 2 ** 32);
  assert.deepEqual(Serdes.Integer().serialize('t', -2), Buffer.from([0xff, 0xff, 0xff, 0xfe]));
  assert.equal(Serdes.Integer().deserialize('t', Buffer.from([0, 0, 1, 0])), 256);
  assert.equal(Serdes.Double().deserialize('t', Serdes.Double().serialize('t', 1.5)), 1.5);
  assert.throws(() => Serdes.Long().deserialize('t', Buffer.alloc(4)), /Long is 8 bytes, got 4/);
});

test('a user-defined serde is two functions; serdeFrom pairs a serializer and a deserializer', () => {
  const upper: Serde<string> = {
    serialize: (_t, v) => (v === null ? null : Buffer.from(v.toUpperCase())),
    deserialize: (_t, d) => (d === null ? null : d.toString().toLowerCase()),
  };
  const pair = Serdes.serdeFrom(upper, Serdes.String());
  assert.equal(pair.serialize('t', 'ab')!.toString(), 'AB');
  assert.equal(pair.deserialize('t', Buffer.from('AB')), 'AB');
});

test('windowed serdes append the window start (time) or end and start (session), 8 bytes each', () => {
  const tw = WindowedSerdes.timeWindowedSerdeFrom(Serdes.String(), 100);
  const bytes = tw.serialize('t', new Windowed('k', new Window(200, 300)))!;
  assert.deepEqual(bytes, Buffer.concat([Buffer.from('k'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 200])]));
  assert.deepEqual(tw.deserialize('t', bytes), new Windowed('k', new Window(200, 300)));
  const sw = WindowedSerdes.sessionWindowedSerdeFrom(Serdes.String());
  const sb = sw.serialize('t', new Windowed('k', new Window(5, 9)))!;
  assert.equal(sb.length, 17);
  assert.deepEqual(sw.deserialize('t', sb), new Windowed('k', new Window(5, 9)));
  assert.throws(() => sw.deserialize('t', Buffer.alloc(3)), /at least 16 bytes/);
});
