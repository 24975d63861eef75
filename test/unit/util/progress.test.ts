import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progress } from '../../../src/util/progress.js';

/** A stand-in for a terminal stream that records what is written. */
function capture(isTTY: boolean): { stream: NodeJS.WriteStream; written: string[] } {
  const written: string[] = [];
  const stream = { isTTY, write: (s: string) => { written.push(s); return true; } } as unknown as NodeJS.WriteStream;
  return { stream, written };
}

test('progress draws a bar with the count against the total, and a final line on done', () => {
  const { stream, written } = capture(true);
  const p = progress('produce', 4, { stream });
  p.tick(1, 100);
  p.tick(3, 300);
  p.done();
  const last = written.at(-1)!;
  assert.match(written[0]!, /^\rproduce \[#{8}-{22}\] {2}25% 1\/4 \(/);
  assert.match(last, /^\rproduce \[#{30}\] 100% 4\/4 \(\d[\d,]* msg\/s, \d+\.\d\d MiB\/s\)\n$/);
});

test('progress without a total shows the count; it is silent off a terminal unless forced', () => {
  const quiet = capture(false);
  const p = progress('read', undefined, { stream: quiet.stream });
  p.tick(5);
  p.done();
  assert.deepEqual(quiet.written, []);

  const forced = capture(false);
  const f = progress('read', undefined, { stream: forced.stream, force: true });
  f.tick(5);
  f.done();
  assert.match(forced.written.at(-1)!, /^\rread 5 \(/);
});
