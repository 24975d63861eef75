import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatTable } from '../../../src/util/format-table.js';

test('formatTable pads every column but the last to its widest cell, two spaces apart', () => {
  const out = formatTable(['TOPIC', 'PARTITION', 'OFFSET'], [['orders', 0, 12345], ['a', 10, 7]]);
  assert.equal(out, [
    'TOPIC   PARTITION  OFFSET',
    'orders  0          12345',
    'a       10         7',
    '',
  ].join('\n'));
});

test('formatTable with no rows prints the header alone, without trailing spaces', () => {
  assert.equal(formatTable(['GROUP', 'STATE'], []), 'GROUP  STATE\n');
  assert.equal(formatTable(['A', 'B'], [['x', '']]), 'A  B\nx\n');
});
