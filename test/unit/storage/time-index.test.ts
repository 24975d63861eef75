import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TimeIndex } from '../../../src/storage/time-index.js';
import { tmpDir } from './storage-helpers.js';

describe('TimeIndex', () => {
  it('keeps only growing timestamps and finds the last entry strictly before a timestamp', () => {
    const file = path.join(tmpDir(), 'x.timeindex');
    const idx = TimeIndex.open(file, 1000, 1200);
    idx.maybeAppend(500, 1005);
    idx.maybeAppend(400, 1010); // smaller: ignored
    idx.maybeAppend(900, 1020);
    idx.maybeAppend(1_700_000_000_123, 1030);
    assert.equal(idx.entries, 3);
    assert.equal(idx.lookup(500), -1);
    assert.equal(idx.lookup(501), 1005);
    assert.equal(idx.lookup(900), 1005);
    assert.equal(idx.lookup(901), 1020);
    assert.equal(idx.lookup(Number.MAX_SAFE_INTEGER), 1030);
    idx.close();
    assert.equal(fs.statSync(file).size, 36);
    const again = TimeIndex.open(file, 1000, 1200);
    assert.equal(again.lastTimestamp, 1_700_000_000_123);
    assert.equal(again.lastOffset, 1030);
    assert.ok(again.isSane(1031));
    assert.ok(!again.isSane(1030));
    again.truncateTo(1020);
    assert.equal(again.entries, 1);
    again.close();
  });

  it('writes bulk appends at endBulk, grows past its initial capacity and drops a torn entry on open', () => {
    const file = path.join(tmpDir(), 'z.timeindex');
    const idx = TimeIndex.open(file, 0, 12 * 1000);
    idx.beginBulk();
    for (let i = 1; i <= 100; i++) idx.maybeAppend(i * 10, i);
    assert.equal(fs.statSync(file).size, 0);
    idx.endBulk();
    assert.equal(fs.statSync(file).size, 100 * 12);
    idx.close();
    fs.appendFileSync(file, Buffer.alloc(5)); // torn trailing entry
    const again = TimeIndex.open(file, 0, 12 * 1000);
    assert.equal(again.entries, 100);
    assert.equal(fs.statSync(file).size, 100 * 12);
    assert.equal(again.lookup(1000), 99);
    assert.equal(again.lastTimestamp, 1000);
    again.close();
  });

  it('accepts a forced final entry when full', () => {
    const idx = TimeIndex.open(path.join(tmpDir(), 'y.timeindex'), 0, 24);
    idx.maybeAppend(1, 1);
    idx.maybeAppend(2, 2);
    idx.maybeAppend(3, 3);
    assert.equal(idx.entries, 2);
    idx.maybeAppend(3, 3, true);
    assert.equal(idx.entries, 3);
    idx.close();
  });
});
