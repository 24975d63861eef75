/**
 * A process the compaction crash test SIGKILLs. argv: dataDir, killAt (a swap step: cleaned | swap | deleted |
 * renamed, or `none`), killCountdown (kill at that step's Nth occurrence), updates to append this run.
 * It appends `updates` keyed records (value `v<offset>`, every 7th a tombstone) to the compacted topic `t`,
 * prints `ready`, then cleans the log pass after pass, and closes cleanly if nobody killed it.
 */
import { buildRecordBatch } from '../../src/protocol/records/record.js';
import { LogManager } from '../../src/storage/log-manager.js';

export const CRASH_TOPIC_CONFIG = { 'cleanup.policy': 'compact', 'segment.bytes': '8192', 'delete.retention.ms': '0' };
export const CRASH_KEYS = 40;

/** Key and value written at `offset`: the test recomputes them to check every surviving record. */
export function crashRecordAt(offset: number): { key: string; value: string | null } {
  return { key: `k${offset % CRASH_KEYS}`, value: offset % 7 === 6 ? null : `v${offset}` };
}

async function main(): Promise<void> {
  const [dataDir, killAt, countdownArg, updatesArg] = process.argv.slice(2) as [string, string, string, string];
  let countdown = Number(countdownArg);
  const manager = new LogManager({
    dataDir,
    brokerDefaults: { 'log.cleaner.enable': 'false' },
    onCleanerSwapStep: (step) => {
      if (step === killAt && --countdown <= 0) process.kill(process.pid, 'SIGKILL');
    },
  });
  await manager.load([{ name: 't', partitions: 1, config: CRASH_TOPIC_CONFIG }]);
  const log = manager.getLog('t', 0)!;
  for (let i = 0; i < Number(updatesArg); i++) {
    const { key, value } = crashRecordAt(log.logEndOffset);
    log.append(buildRecordBatch([{ key, value }]), { leaderEpoch: 0 });
  }
  log.roll();
  process.stdout.write('ready\n');
  for (let pass = 0; pass < 4; pass++) {
    await manager.cleaner.clean(log);
    // New data between passes, so every pass has a dirty part to clean.
    for (let i = 0; i < 200; i++) {
      const { key, value } = crashRecordAt(log.logEndOffset);
      log.append(buildRecordBatch([{ key, value }]), { leaderEpoch: 0 });
    }
    log.roll();
  }
  await manager.close();
  process.stdout.write('done\n');
}

if (process.argv[1]?.endsWith('compaction-crash-child.js')) await main();
