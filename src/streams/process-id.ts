// The process id of a KafkaStreams instance: part of its transactional.id under exactly_once_v2
// (<application.id>-<process id>-1). Kept in <state.dir>/<application.id>/kafka-streams-process-metadata, as Kafka
// Streams does, so that an instance restarted after a crash uses the same transactional.id: its InitProducerId
// then fences the dead instance's producer and aborts the transaction it left open at once, instead of every
// read_committed reader waiting for transaction.timeout.ms. The file also names the pid that holds it: an id held
// by a live process (or by another instance in this one) is not taken; that instance gets a fresh random id.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidAlive } from './state/state-directory.js';

const held = new Set<string>();

export interface ProcessId {
  readonly id: string;
  /** False when the id is a fresh one nobody will reuse (the file was held, or could not be written). */
  readonly persisted: boolean;
  release(): void;
}

export function acquireProcessId(stateDir: string, applicationId: string): ProcessId {
  const dir = join(stateDir, applicationId);
  const file = join(dir, 'kafka-streams-process-metadata');
  let previous: { processId?: unknown; pid?: unknown } | null = null;
  try {
    previous = JSON.parse(readFileSync(file, 'utf8')) as { processId?: unknown; pid?: unknown };
  } catch {
    previous = null;
  }
  const prevId = typeof previous?.processId === 'string' && /^[0-9a-f-]{36}$/.test(previous.processId) ? previous.processId : null;
  const prevPid = typeof previous?.pid === 'number' ? previous.pid : 0;
  const takenElsewhere = prevId !== null && prevPid !== process.pid && prevPid > 0 && pidAlive(prevPid);
  const takenHere = prevId !== null && held.has(prevId);
  if (takenElsewhere || takenHere) return { id: randomUUID(), persisted: false, release() {} };
  const id = prevId ?? randomUUID();
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, `${JSON.stringify({ processId: id, pid: process.pid })}\n`);
  } catch {
    return { id: randomUUID(), persisted: false, release() {} };
  }
  held.add(id);
  return { id, persisted: true, release: () => held.delete(id) };
}
