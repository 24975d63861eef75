import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ABORTED_TXN_SIZE, TransactionIndex } from '../../../src/storage/transaction-index.js';
import { tmpDir } from './storage-helpers.js';

describe('TransactionIndex', () => {
  it("writes Kafka's 34-byte entries, creates the file only on the first entry, and reads them back", () => {
    const file = path.join(tmpDir(), '00000000000000000000.txnindex');
    const idx = TransactionIndex.open(file);
    assert.equal(fs.existsSync(file), false);
    idx.append({ producerId: 7n, firstOffset: 3, lastOffset: 9, lastStableOffset: 10 });
    idx.append({ producerId: 2n ** 40n, firstOffset: 12, lastOffset: 20, lastStableOffset: 15 });
    idx.close();
    const raw = fs.readFileSync(file);
    assert.equal(raw.length, 2 * ABORTED_TXN_SIZE);
    // version int16 0 | producerId int64 | firstOffset int64 | lastOffset int64 | lastStableOffset int64
    assert.equal(raw.readInt16BE(0), 0);
    assert.equal(raw.readBigInt64BE(2), 7n);
    assert.equal(raw.readBigInt64BE(10), 3n);
    assert.equal(raw.readBigInt64BE(18), 9n);
    assert.equal(raw.readBigInt64BE(26), 10n);
    const again = TransactionIndex.open(file);
    assert.deepEqual(again.all(), [
      { producerId: 7n, firstOffset: 3, lastOffset: 9, lastStableOffset: 10 },
      { producerId: 2n ** 40n, firstOffset: 12, lastOffset: 20, lastStableOffset: 15 },
    ]);
    again.close();
  });

  it('drops a torn trailing entry on open', () => {
    const file = path.join(tmpDir(), '00000000000000000000.txnindex');
    const idx = TransactionIndex.open(file);
    idx.append({ producerId: 1n, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 });
    idx.close();
    fs.appendFileSync(file, Buffer.alloc(20, 1));
    const again = TransactionIndex.open(file);
    assert.equal(again.size, 1);
    assert.equal(fs.statSync(file).size, ABORTED_TXN_SIZE);
    again.append({ producerId: 2n, firstOffset: 5, lastOffset: 8, lastStableOffset: 9 });
    again.close();
    assert.equal(TransactionIndex.open(file).size, 2);
  });

  it('collects the entries overlapping [fetchOffset, upperBound) and says when later segments cannot add more', () => {
    const idx = TransactionIndex.open(path.join(tmpDir(), 'x.txnindex'));
    idx.append({ producerId: 1n, firstOffset: 0, lastOffset: 4, lastStableOffset: 5 });
    idx.append({ producerId: 2n, firstOffset: 6, lastOffset: 10, lastStableOffset: 11 });
    idx.append({ producerId: 3n, firstOffset: 12, lastOffset: 14, lastStableOffset: 15 });
    const out: Array<{ producerId: bigint; firstOffset: number }> = [];
    assert.equal(idx.collect(5, 12, out), true, 'an entry with lastStableOffset >= upperBound ends the search');
    assert.deepEqual(out, [{ producerId: 2n, firstOffset: 6 }]);
    const tail: Array<{ producerId: bigint; firstOffset: number }> = [];
    assert.equal(idx.collect(13, 100, tail), false, 'a later segment may still hold aborts overlapping the range');
    assert.deepEqual(tail, [{ producerId: 3n, firstOffset: 12 }]);
    idx.close();
  });
});
