import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { OffsetIndex } from '../../../src/storage/offset-index.js';
import { tmpDir } from './storage-helpers.js';

describe('OffsetIndex', () => {
  it('looks up the largest entry <= target, persists 8-byte entries and reloads them', () => {
    const file = path.join(tmpDir(), '00000000000000000100.index');
    const idx = OffsetIndex.open(file, 100, 1024);
    const entries: Array<[number, number]> = [];
    for (let i = 1; i <= 50; i++) entries.push([100 + i * 10 + 3, i * 1000]);
    for (const [o, p] of entries) idx.append(o, p);
    const brute = (target: number): number => {
      let pos = 0;
      for (const [o, p] of entries) if (o <= target) pos = p;
      return pos;
    };
    for (let t = 90; t < 700; t++) assert.equal(idx.lookup(t), brute(t), `target ${t}`);
    assert.equal(fs.statSync(file).size, 0); // entries reach the file at sync or close, in one write
    idx.close();
    assert.equal(fs.statSync(file).size, 50 * 8);
    const raw = fs.readFileSync(file);
    assert.equal(raw.readInt32BE(0), 13); // relative offset
    assert.equal(raw.readInt32BE(4), 1000);
    const again = OffsetIndex.open(file, 100, 1024);
    assert.equal(again.entries, 50);
    for (let t = 90; t < 700; t += 7) assert.equal(again.lookup(t), brute(t));
    again.close();
  });

  it('ignores non-increasing entries, stops at maxEntries, truncates and drops a torn entry on open', () => {
    const file = path.join(tmpDir(), 'x.index');
    const idx = OffsetIndex.open(file, 0, 5 * 8);
    idx.append(10, 100);
    idx.append(10, 200); // same offset: ignored
    idx.append(20, 100); // same position: ignored
    assert.equal(idx.entries, 1);
    for (let i = 2; i <= 9; i++) idx.append(i * 10, i * 100);
    assert.equal(idx.entries, 5);
    assert.ok(idx.isFull);
    idx.truncateTo(40);
    assert.equal(idx.entries, 3);
    assert.equal(idx.lastOffset, 30);
    idx.truncateToPosition(300);
    assert.equal(idx.lastOffset, 20);
    idx.close();
    assert.equal(fs.statSync(file).size, 16);
    fs.appendFileSync(file, Buffer.from([0, 0, 0])); // torn trailing entry
    const again = OffsetIndex.open(file, 0, 1024);
    assert.equal(again.entries, 2);
    assert.equal(fs.statSync(file).size, 16);
    assert.ok(again.isSane(1000));
    assert.ok(!again.isSane(200)); // an entry points past a 200-byte log
    again.close();
  });
});
