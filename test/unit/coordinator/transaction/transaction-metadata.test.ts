import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  CorruptTransactionLogError, fromRecord, toRecord, type TransactionMetadata,
} from '../../../../src/coordinator/transaction/transaction-metadata.js';
import {
  TransactionState, canTransition, isTransactionStateName, stateFromStatus,
} from '../../../../src/coordinator/transaction/transaction-state.js';

function metadata(over: Partial<TransactionMetadata>): TransactionMetadata {
  return {
    transactionalId: 'tx', producerId: 9n, lastProducerId: -1n, producerEpoch: 3, lastProducerEpoch: -1,
    timeoutMs: 500, state: 'Ongoing', partitions: new Map([['b', new Set([2, 1])], ['a', new Set([0])]]),
    startTimestamp: 10, lastUpdateTimestamp: 20, ...over,
  };
}

describe('TransactionState', () => {
  it("uses Kafka's status numbers and names", () => {
    assert.deepEqual(Object.entries(TransactionState), [
      ['Empty', 0], ['Ongoing', 1], ['PrepareCommit', 2], ['PrepareAbort', 3], ['CompleteCommit', 4],
      ['CompleteAbort', 5], ['Dead', 6], ['PrepareEpochFence', 7],
    ]);
    for (const [name, status] of Object.entries(TransactionState)) assert.equal(stateFromStatus(status), name);
    assert.equal(stateFromStatus(8), undefined);
    assert.equal(isTransactionStateName('Ongoing'), true);
    assert.equal(isTransactionStateName('toString'), false);
  });

  it('allows only the protocol transitions', () => {
    assert.equal(canTransition('Ongoing', 'PrepareCommit'), true);
    assert.equal(canTransition('PrepareEpochFence', 'PrepareAbort'), true);
    assert.equal(canTransition('Empty', 'PrepareCommit'), false);
    assert.equal(canTransition('PrepareCommit', 'CompleteAbort'), false);
    assert.equal(canTransition('Ongoing', 'Dead'), false);
  });
});

describe('TransactionMetadata records', () => {
  it('writes sorted partitions, null partitions when Empty, and reads them back', () => {
    const rec = toRecord(metadata({}));
    assert.deepEqual(rec.key, { transactionalId: 'tx' });
    assert.deepEqual(rec.value!.transactionPartitions, [{ topic: 'a', partitionIds: [0] }, { topic: 'b', partitionIds: [1, 2] }]);
    assert.equal(rec.value!.transactionStatus, 1);
    const back = fromRecord('tx', rec.value!, undefined);
    assert.deepEqual(back, metadata({}));
    const empty = toRecord(metadata({ state: 'Empty', partitions: new Map(), startTimestamp: -1 }));
    assert.equal(empty.value!.transactionPartitions, null);
  });

  it('infers the previous producer id from a change of id, and rejects unknown statuses', () => {
    const before = metadata({});
    const rotated = fromRecord('tx', toRecord(metadata({ producerId: 10n, state: 'Empty', partitions: new Map() })).value!, before);
    assert.equal(rotated.lastProducerId, 9n);
    const same = fromRecord('tx', toRecord(metadata({ producerId: 10n, producerEpoch: 4 })).value!, rotated);
    assert.equal(same.lastProducerId, 9n);
    assert.throws(() => fromRecord('tx', { ...toRecord(before).value!, transactionStatus: 42 }, undefined), CorruptTransactionLogError);
  });
});
