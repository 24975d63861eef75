// The Processor API: what a node of a topology implements, and the context the runtime gives it.
import type { Record, RecordMetadata } from './record.js';

export enum PunctuationType {
  /** Fires as stream time (the largest record timestamp the task has seen) passes each interval. */
  STREAM_TIME = 'STREAM_TIME',
  /** Fires as the wall clock passes each interval. */
  WALL_CLOCK_TIME = 'WALL_CLOCK_TIME',
}

export type Punctuator = (timestamp: number) => void;

export interface Cancellable {
  cancel(): void;
}

/** Where a task runs: the sub-topology and the input partition. */
export class TaskId {
  constructor(readonly subtopology: number, readonly partition: number) {}

  toString(): string {
    return `${this.subtopology}_${this.partition}`;
  }
}

export interface ProcessorContext<KForward = unknown, VForward = unknown> {
  readonly applicationId: string;
  readonly taskId: TaskId;
  /** Sends a record to every child, or to the named one. */
  forward<K extends KForward, V extends VForward>(record: Record<K, V>, childName?: string): void;
  /** Calls back every intervalMs of stream time or of wall-clock time; cancel() stops it. */
  schedule(intervalMs: number, type: PunctuationType, callback: Punctuator): Cancellable;
  /** A store connected to this processor (Topology.addStateStore / connectProcessorAndStateStores / the DSL's storeNames). */
  getStateStore<S>(name: string): S;
  /** The topic/partition/offset/headers of the record being processed; null during a punctuation. */
  recordMetadata(): RecordMetadata | null;
  /** The largest record timestamp the task has seen (-1 before the first record). */
  currentStreamTimeMs(): number;
  currentSystemTimeMs(): number;
  /** Application properties (StreamsConfig). */
  appConfigs(): Readonly<{ [key: string]: unknown }>;
}

export interface Processor<KIn, VIn, KOut = never, VOut = never> {
  init?(context: ProcessorContext<KOut, VOut>): void;
  process(record: Record<KIn, VIn>): void;
  close?(): void;
}

/** Makes a new Processor per task (a supplier must not hand out the same instance twice). */
export type ProcessorSupplier<KIn, VIn, KOut = never, VOut = never> = () => Processor<KIn, VIn, KOut, VOut>;
