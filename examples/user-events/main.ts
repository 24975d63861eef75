/**
 * User-event streaming: a producer emits click/view/purchase events keyed by user; a consumer group of two
 * members counts events per user as they arrive. Keys keep each user's events in one partition, so each user
 * is counted by exactly one member and the members' tables merge by adding them up.
 *
 *   node dist/examples/user-events/main.js [--events 1000] [--users 20]
 */
import { Consumer, Producer } from '../../src/index.js';
import { cliMain, intFlag, openEnv, pick, random, within, type ExampleOptions } from '../common.js';

export const EVENT_TYPES = ['click', 'view', 'purchase'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface UserEvent {
  user: string;
  type: EventType;
  page: string;
  at: number;
}

export type Counts = Record<EventType, number>;

export interface UserEventsSummary {
  topic: string;
  group: string;
  produced: number;
  /** What the producer sent, per user (the truth to check against). */
  sent: Map<string, Counts>;
  /** What the consumer group counted, per user, merged over its members. */
  counted: Map<string, Counts>;
  /** Events counted by each member. */
  perMember: number[];
  elapsedMs: number;
}

const zero = (): Counts => ({ click: 0, view: 0, purchase: 0 });
const add = (m: Map<string, Counts>, user: string, type: EventType, n = 1): void => {
  const c = m.get(user) ?? zero();
  c[type] += n;
  m.set(user, c);
};

export function totals(m: Map<string, Counts>): Counts & { all: number } {
  const t = { ...zero(), all: 0 };
  for (const c of m.values()) for (const k of EVENT_TYPES) {
    t[k] += c[k];
    t.all += c[k];
  }
  return t;
}

export async function runUserEvents(options: ExampleOptions & { events?: number; users?: number; members?: number } = {}): Promise<UserEventsSummary> {
  const events = options.events ?? 1000;
  const users = options.users ?? 20;
  const members = options.members ?? 2;
  const started = Date.now();
  const env = await openEnv('user-events', options);
  const topic = `user-events${env.suffix}`;
  const group = `user-stats${env.suffix}`;
  const consumers: Consumer[] = [];
  let stop = false;
  let loops: Array<Promise<void>> = [];
  try {
    await env.createTopics([{ name: topic, partitions: 3 }]);

    // The consumer group: each member polls, counts, and commits what it counted before polling again.
    const tables = Array.from({ length: members }, () => new Map<string, Counts>());
    const perMember = new Array<number>(members).fill(0);
    let counted = 0;
    for (let i = 0; i < members; i++) {
      consumers.push(new Consumer({ ...env.client, clientId: `user-stats-${i}`, groupId: group, autoOffsetReset: 'earliest', enableAutoCommit: false, fetchMaxWaitMs: 100 }));
    }
    await Promise.all(consumers.map(async (c) => {
      await c.connect();
      await c.subscribe([topic]);
    }));
    loops = consumers.map(async (c, i) => {
      while (!stop) {
        const batch = await c.poll(100);
        if (batch.length === 0) continue;
        for (const r of batch) {
          const e = JSON.parse(r.value!.toString()) as UserEvent;
          add(tables[i], e.user, e.type);
        }
        perMember[i] += batch.length;
        counted += batch.length;
        await c.commit();
        env.log(`member ${i}: +${batch.length} events (group total ${counted}/${events})`);
        if (counted >= events) stop = true;
      }
    });

    // Produce only once the group is formed and every partition has an owner: no rebalance while counting.
    await within(15_000, 'forming the consumer group', (async () => {
      const formed = (): boolean => {
        const owned = consumers.map((c) => c.assignment().length);
        return owned.reduce((a, b) => a + b, 0) === 3 && owned.every((n) => n > 0 || members > 3);
      };
      while (!formed()) await new Promise((r) => setTimeout(r, 20));
    })());
    env.log(`group ${group}: ${consumers.map((c, i) => `member ${i} owns partitions ${c.assignment().map((tp) => tp.partition).join(',')}`).join('; ')}`);

    const sent = new Map<string, Counts>();
    const producer = new Producer({ ...env.client, lingerMs: 5 });
    try {
      await producer.connect();
      const rnd = random(42);
      const sends: Array<Promise<unknown>> = [];
      for (let i = 0; i < events; i++) {
        // A few users are much busier than the rest, as on a real site.
        const user = `user-${Math.floor(rnd() ** 2 * users)}`;
        const type = pick(rnd, { view: 6, click: 3, purchase: 1 });
        const event: UserEvent = { user, type, page: `/products/${Math.floor(rnd() * 50)}`, at: started + i };
        add(sent, user, type);
        sends.push(producer.send({ topic, key: user, value: JSON.stringify(event) }));
      }
      await Promise.all(sends);
    } finally {
      await producer.close();
    }
    env.log(`produced ${events} events for ${sent.size} users to ${topic}`);

    await within(20_000, 'counting every event', Promise.all(loops));
    const merged = new Map<string, Counts>();
    for (const t of tables) for (const [user, c] of t) for (const k of EVENT_TYPES) add(merged, user, k, c[k]);
    return { topic, group, produced: events, sent, counted: merged, perMember, elapsedMs: Date.now() - started };
  } finally {
    stop = true;
    await Promise.allSettled(loops);
    await Promise.all(consumers.map((c) => c.close().catch(() => undefined)));
    await env.close();
  }
}

export function describe(s: UserEventsSummary): string {
  const t = totals(s.counted);
  const top = [...s.counted].map(([user, c]) => ({ user, n: c.click + c.view + c.purchase })).sort((a, b) => b.n - a.n || a.user.localeCompare(b.user))[0];
  return `user-events: produced ${s.produced} events; group ${s.group} (${s.perMember.length} members: ${s.perMember.join(' + ')}) counted ${t.all} ` +
    `for ${s.counted.size} users (click ${t.click}, view ${t.view}, purchase ${t.purchase}); busiest ${top?.user ?? '-'} with ${top?.n ?? 0}; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/user-events/main.js [--events N] [--users N]', {
  events: { type: 'string' },
  users: { type: 'string' },
}, async (values, common) => describe(await runUserEvents({ ...common, events: intFlag(values, 'events', 1000), users: intFlag(values, 'users', 20) })));
