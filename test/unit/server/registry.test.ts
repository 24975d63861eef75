import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRegistry } from '../../../src/server/registry.js';
import { apiMessages } from '../../../src/protocol/generated/index.js';

test('every handler is within its spec range and ApiVersions covers the core APIs', () => {
  const reg = createRegistry();
  for (const h of reg.values()) {
    const spec = apiMessages.get(h.apiKey)!;
    assert.ok(h.minVersion >= spec.request.minVersion && h.maxVersion <= spec.request.maxVersion, h.name);
    // Stable spec versions are all served, except the legacy-format Produce v0-2 and Fetch v0-3.
    const expectedMin = h.apiKey === 0 ? 3 : h.apiKey === 1 ? 4 : spec.request.minVersion;
    assert.equal(h.minVersion, expectedMin, h.name);
    // EndTxn v5 is transaction version 2 (KIP-890 part 2, an epoch bump per transaction), which the
    // coordinator does not implement; clients use it only when the broker finalizes transaction.version 2.
    const expectedMax = h.apiKey === 26 ? 4 : spec.request.maxVersion - (spec.request.latestVersionUnstable ? 1 : 0);
    assert.equal(h.maxVersion, expectedMax, h.name);
  }
  assert.deepEqual([...reg.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 35, 36, 37, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 60, 61, 65, 66, 68, 69, 75]);
});

test('a newest version marked unstable is advertised only when unstable versions are enabled', () => {
  const listOffsets = createRegistry().get(2)!;
  const unstable = { ...listOffsets, request: { ...listOffsets.request, latestVersionUnstable: true } };
  const max = listOffsets.request.maxVersion;
  assert.equal(createRegistry({ handlers: [unstable] }).get(2)!.maxVersion, max - 1);
  assert.equal(createRegistry({ handlers: [unstable], unstableApiVersions: true }).get(2)!.maxVersion, max);
  assert.throws(() => createRegistry({ handlers: [listOffsets, listOffsets] }), /Two handlers/);
});
