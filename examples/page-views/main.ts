/**
 * Real-time analytics with Kafka Streams' DSL: page views keyed by user, counted per user per minute
 * (TimeWindows of 1 minute + count) by a KafkaStreams application, written to a topic as `user@minute → count`.
 * The count store is backed by a compacted changelog, so a restarted application picks up where it was.
 *
 *   node dist/examples/page-views/main.js [--views 2000] [--users 10]
 *   tributary streams describe --module dist/examples/page-views/main.js   (its topology, nothing started)
 */
import { Consumer, Consumed, Grouped, KafkaStreams, Materialized, Produced, Producer, Serdes, StreamsBuilder, TimeWindows, type Topology } from '../../src/index.js';
import { cliMain, intFlag, openEnv, random, within, type ExampleOptions } from '../common.js';

const MINUTE = 60_000;

/** The application: page views (key user, value page) → views per user per minute. */
export function buildTopology(input = 'page-views', output = 'page-views-per-minute'): Topology {
  const S = Serdes.String();
  const builder = new StreamsBuilder();
  builder.stream(input, Consumed.with(S, S))
    .groupByKey(Grouped.with(S, S))
    .windowedBy(TimeWindows.ofSizeWithNoGrace(MINUTE))
    .count(Materialized.as('views-per-minute'))
    .toStream()
    .map((w, n) => ({ key: `${w.key}@${new Date(w.window.start).toISOString().slice(11, 16)}`, value: String(n) }))
    .to(output, Produced.with(S, S));
  return builder.build();
}

export interface PageViewsSummary {
  produced: number;
  /** user@HH:MM → views, what was sent. */
  sent: Map<string, number>;
  /** user@HH:MM → the application's latest count. */
  counted: Map<string, number>;
  elapsedMs: number;
}

export async function runPageViews(options: ExampleOptions & { views?: number; users?: number } = {}): Promise<PageViewsSummary> {
  const views = options.views ?? 2000;
  const users = options.users ?? 10;
  const started = Date.now();
  const env = await openEnv('page-views', options);
  const input = `page-views${env.suffix}`;
  const output = `page-views-per-minute${env.suffix}`;
  let app: KafkaStreams | null = null;
  const consumer = new Consumer({ ...env.client, autoOffsetReset: 'earliest', enableAutoCommit: false });
  try {
    await env.createTopics([{ name: input, partitions: 2 }, { name: output, partitions: 2 }]);
    app = new KafkaStreams(buildTopology(input, output), {
      'application.id': `page-views-app${env.suffix}`,
      'bootstrap.servers': env.client.bootstrapServers,
      'default.key.serde': Serdes.String(),
      'default.value.serde': Serdes.Long(),
      'commit.interval.ms': 500,
    });
    await app.start();

    // Views over five minutes of event time, a few users much busier than the rest.
    const sent = new Map<string, number>();
    const base = Math.floor(started / MINUTE) * MINUTE - 5 * MINUTE;
    const producer = new Producer({ ...env.client, lingerMs: 5 });
    try {
      await producer.connect();
      const rnd = random(7);
      const records = Array.from({ length: views }, (_, i) => {
        const user = `user-${Math.floor(rnd() ** 2 * users)}`;
        const timestamp = base + Math.floor((i / views) * 5 * MINUTE);
        const key = `${user}@${new Date(timestamp - (timestamp % MINUTE)).toISOString().slice(11, 16)}`;
        sent.set(key, (sent.get(key) ?? 0) + 1);
        return { topic: input, key: user, value: `/products/${Math.floor(rnd() * 50)}`, timestamp };
      });
      await producer.sendBatch(records);
    } finally {
      await producer.close();
    }
    env.log(`produced ${views} page views for ${users} users to ${input}`);

    // The output: the latest count per user and minute.
    const counted = new Map<string, number>();
    await consumer.connect();
    consumer.assign([0, 1].map((partition) => ({ topic: output, partition })));
    const total = (): number => [...counted.values()].reduce((a, b) => a + b, 0);
    await within(30_000, 'counting every view', (async () => {
      while (total() < views) for (const r of await consumer.poll(200)) counted.set(r.key!.toString(), Number(r.value!.toString()));
    })());
    return { produced: views, sent, counted, elapsedMs: Date.now() - started };
  } finally {
    await consumer.close().catch(() => undefined);
    await app?.close();
    await env.close();
  }
}

export function describe(s: PageViewsSummary): string {
  const top = [...s.counted].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0];
  const total = [...s.counted.values()].reduce((a, b) => a + b, 0);
  return `page-views: produced ${s.produced} views; KafkaStreams counted ${total} in ${s.counted.size} user-minutes; busiest ${top?.[0] ?? '-'} with ${top?.[1] ?? 0}; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/page-views/main.js [--views N] [--users N]', {
  views: { type: 'string' },
  users: { type: 'string' },
}, async (values, common) => describe(await runPageViews({ ...common, views: intFlag(values, 'views', 2000), users: intFlag(values, 'users', 10) })));
