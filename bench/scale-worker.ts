/**
 * A load-generator process of bench/scale.ts's connection round: the bench forks a few of these (at most
 * SCALE_WORKERS) and gives each a share of the clients, so 1,000 Producers and Consumers are not all bounded by
 * one process's event loop and the round measures the broker. Driven over the IPC channel, one step at a time:
 *
 *   connect  { address, topic, producers: [{ partition, count }], consumers: [{ partition, from, to }], fetchBytes }
 *            creates and connects every client        → { ok: true }
 *   produce  each producer writes its count of 100 B records to its partition, 1,000 per sendBatch → { ok: true }
 *   consume  each consumer reads offsets [from, to) of its partition   → { ok: true, read }
 *   close    closes every client and exits             → { ok: true }
 *
 * A failed step answers { ok: false, error } (the bench then stops the round). Nothing runs unasked.
 */
import { Consumer } from '../src/client/consumer.js';
import { Producer } from '../src/client/producer.js';

export interface WorkerPlan {
  address: string;
  topic: string;
  producers: Array<{ partition: number; count: number }>;
  consumers: Array<{ partition: number; from: number; to: number }>;
  /** Consumers' maxPartitionFetchBytes: about one slice per fetch, so a consumer does not read far past its range. */
  fetchBytes: number;
  recordBytes: number;
  batch: number;
  stepTimeoutMs: number;
}

export type WorkerRequest = { step: 'connect'; plan: WorkerPlan } | { step: 'produce' } | { step: 'consume' } | { step: 'close' };
export type WorkerReply = { ok: true; read?: number } | { ok: false; error: string };

let plan: WorkerPlan | undefined;
let producers: Producer[] = [];
let consumers: Consumer[] = [];

async function run(req: WorkerRequest): Promise<WorkerReply> {
  switch (req.step) {
    case 'connect': {
      const p = (plan = req.plan);
      producers = p.producers.map(() => new Producer({ bootstrapServers: p.address, clientId: 'bench-scale-p', acks: 'all', compression: 'none', idempotent: false }));
      consumers = p.consumers.map(() => new Consumer({ bootstrapServers: p.address, clientId: 'bench-scale-c', enableAutoCommit: false, maxPartitionFetchBytes: p.fetchBytes }));
      await Promise.all([...producers.map((x) => x.connect()), ...consumers.map((x) => x.connect())]);
      return { ok: true };
    }
    case 'produce': {
      const p = plan!;
      const value = Buffer.alloc(p.recordBytes, 'x');
      await Promise.all(producers.map(async (producer, k) => {
        const { partition, count } = p.producers[k]!;
        for (let done = 0; done < count; done += p.batch) {
          const n = Math.min(p.batch, count - done);
          await producer.sendBatch(Array.from({ length: n }, () => ({ topic: p.topic, partition, value })));
        }
      }));
      return { ok: true };
    }
    case 'consume': {
      const p = plan!;
      const deadline = performance.now() + p.stepTimeoutMs;
      let read = 0;
      await Promise.all(consumers.map(async (consumer, k) => {
        const { partition, from, to } = p.consumers[k]!;
        if (to <= from) return;
        const tp = { topic: p.topic, partition };
        consumer.assign([tp]);
        consumer.seek(tp, from);
        let at = from;
        while (at < to) {
          if (performance.now() > deadline) throw new Error(`consumer ${k}: at ${at} of [${from}, ${to}) after ${p.stepTimeoutMs} ms`);
          for (const r of await consumer.poll(1000)) {
            if (r.offset >= at && r.offset < to) {
              read++;
              at = r.offset + 1;
            }
          }
        }
      }));
      return { ok: true, read };
    }
    case 'close': {
      await Promise.allSettled([...producers.map((x) => x.close()), ...consumers.map((x) => x.close())]);
      return { ok: true };
    }
  }
}

process.on('message', (req: WorkerRequest) => {
  run(req).then(
    (reply) => {
      process.send!(reply, () => {
        if (req.step === 'close') process.disconnect();
      });
    },
    (err: unknown) => process.send!({ ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) } satisfies WorkerReply),
  );
});
// The bench went away (it disconnects or dies): so does this process.
process.on('disconnect', () => process.exit(0));
