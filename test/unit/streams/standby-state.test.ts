// What an instance reports about the state it holds on disk (task offset sums from checkpoints), for the assignor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onDiskOffsetSums } from '../../../src/streams/standby.js';
import { writeCheckpoint } from '../../../src/streams/state/state-directory.js';

test('on-disk offset sums: Σ (checkpointed offset + 1) per task directory with a checkpoint', async () => {
  const root = await mkdtemp(join(tmpdir(), 'standby-state-'));
  try {
    assert.equal(onDiskOffsetSums(root, 'app', new Set()).size, 0, 'no application directory yet');
    const dir = (t: string): string => {
      const d = join(root, 'app', t);
      mkdirSync(d, { recursive: true });
      return d;
    };
    writeCheckpoint(dir('0_1'), [{ topic: 'app-a-changelog', partition: 1, offset: 99 }, { topic: 'app-b-changelog', partition: 1, offset: 9 }]);
    writeCheckpoint(dir('2_0'), [{ topic: 'app-c-changelog', partition: 0, offset: 0 }]);
    writeCheckpoint(dir('1_3'), [{ topic: 'app-d-changelog', partition: 3, offset: 5 }]);
    dir('0_2'); // no checkpoint: no state to report
    writeFileSync(join(dir('1_4'), '.checkpoint'), 'garbage\n'); // unreadable: none
    dir('kafka-streams-process-metadata-like');
    assert.deepEqual(onDiskOffsetSums(root, 'app', new Set(['1_3'])), new Map([['0_1', 110], ['2_0', 1]]));
    assert.equal(onDiskOffsetSums(root, 'other-app', new Set()).size, 0);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
