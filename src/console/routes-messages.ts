/**
 * Messages: browse (GET …/messages, bounded in count and time), produce (POST …/messages) and tail (GET …/tail,
 * server-sent events). Browsing and tailing use a Consumer without a group (manual assignment), so they commit
 * nothing and show up in no group.
 */
import type { ServerResponse } from 'node:http';
import { Consumer, type ConsumerRecord } from '../client/consumer.js';
import { asObject, HttpError, optInt, queryInt, sendJson } from './http.js';
import { tpKey, type TP } from './kafka.js';
import type { ConsoleApp, Router } from './router.js';
import { textOrBase64 } from '../util/text-or-base64.js';

/** Browsing returns at most this many messages. */
export const MAX_BROWSE_LIMIT = 500;
/** A browse request reads for at most this long. */
export const BROWSE_TIME_BUDGET_MS = 2000;
/** …and scans at most this many records (a filter that matches nothing stops here). */
const MAX_SCANNED = 100_000;
/** With a filter, from=end looks back this many offsets per partition. */
const FILTER_LOOKBACK = 10_000;
/** Live tails open at once (each is a consumer with its own connections). */
const MAX_TAILS = 16;

export interface MessageView {
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null; valueBase64?: true }>;
  keyBase64?: true;
  valueBase64?: true;
}

/** A record as the API shows it: UTF-8 text, or base64 with a flag when the bytes are not UTF-8. */
export function messageView(r: ConsumerRecord): MessageView {
  const k = textOrBase64(r.key);
  const v = textOrBase64(r.value);
  const view: MessageView = {
    partition: r.partition, offset: r.offset, timestamp: r.timestamp, key: k.text, value: v.text,
    headers: r.headers.map((h) => {
      const hv = textOrBase64(h.value);
      return hv.base64 ? { key: h.key, value: hv.text, valueBase64: true as const } : { key: h.key, value: hv.text };
    }),
  };
  if (k.base64) view.keyBase64 = true;
  if (v.base64) view.valueBase64 = true;
  return view;
}

/** Case-insensitive substring match on the key, the value, header keys and header values. */
export function matches(m: MessageView, filter: string): boolean {
  if (filter === '') return true;
  const f = filter.toLowerCase();
  const has = (s: string | null): boolean => s !== null && s.toLowerCase().includes(f);
  return has(m.key) || has(m.value) || m.headers.some((h) => has(h.key) || has(h.value));
}

const byTime = (a: MessageView, b: MessageView): number => a.timestamp - b.timestamp || a.partition - b.partition || a.offset - b.offset;

/** The topic's partitions (all, or the one asked for); 404 for an unknown topic or partition. */
async function partitionsOf(app: ConsoleApp, topic: string, partitionParam: string | null): Promise<number[]> {
  const [t] = await app.kafka.admin.describeTopics([topic]);
  if (!t) throw new HttpError(404, `topic '${topic}' does not exist`, 'UNKNOWN_TOPIC_OR_PARTITION');
  const all = t.partitions.map((p) => p.partition).sort((a, b) => a - b);
  if (partitionParam === null || partitionParam === '' || partitionParam === 'all') return all;
  if (!/^\d+$/.test(partitionParam)) throw new HttpError(400, `partition must be a number or "all", not "${partitionParam}"`);
  const p = Number(partitionParam);
  if (!all.includes(p)) throw new HttpError(404, `topic '${topic}' has no partition ${p} (it has ${all.length})`, 'UNKNOWN_TOPIC_OR_PARTITION');
  return [p];
}

function newConsumer(app: ConsoleApp, clientId: string): Consumer {
  return new Consumer({
    ...app.kafka.clientOptions, clientId, maxPollRecords: MAX_BROWSE_LIMIT, fetchMaxWaitMs: 200,
    maxPartitionFetchBytes: 1024 * 1024, fetchMaxBytes: 8 * 1024 * 1024, autoOffsetReset: 'latest', enableAutoCommit: false,
  });
}

export interface BrowseQuery {
  partitions: number[];
  from: 'beginning' | 'end' | 'offset' | 'timestamp';
  offset?: number;
  timestamp?: number;
  limit: number;
  filter: string;
}

/** Reads at most `limit` messages (matching `filter`) within BROWSE_TIME_BUDGET_MS. */
export async function browse(app: ConsoleApp, topic: string, q: BrowseQuery): Promise<MessageView[]> {
  const tps: TP[] = q.partitions.map((partition) => ({ topic, partition }));
  const offsets = await app.kafka.offsets(tps);
  const startAt = new Map<string, number>();
  if (q.from === 'timestamp') {
    const found = await app.kafka.admin.listOffsets(tps.map((tp) => ({ ...tp, timestamp: q.timestamp! })));
    for (const f of found) startAt.set(tpKey(f), f.offset >= 0 ? f.offset : offsets.get(tpKey(f))!.end);
  } else {
    for (const tp of tps) {
      const o = offsets.get(tpKey(tp))!;
      const back = q.filter === '' ? q.limit : Math.max(q.limit, FILTER_LOOKBACK);
      const at = q.from === 'beginning' ? o.start : q.from === 'end' ? o.end - back : q.offset!;
      startAt.set(tpKey(tp), Math.min(Math.max(at, o.start), o.end));
    }
  }
  const active = tps.filter((tp) => startAt.get(tpKey(tp))! < offsets.get(tpKey(tp))!.end);
  if (active.length === 0) return [];
  const perPartition = new Map<string, MessageView[]>(active.map((tp) => [tpKey(tp), []]));
  const deadline = Date.now() + BROWSE_TIME_BUDGET_MS;
  const consumer = newConsumer(app, 'tributary-console-browser');
  try {
    await consumer.connect();
    consumer.assign(active);
    for (const tp of active) consumer.seek(tp, startAt.get(tpKey(tp))!);
    const open = new Set(active.map(tpKey));
    let scanned = 0;
    while (open.size > 0 && scanned < MAX_SCANNED) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      const records = await consumer.poll(remaining);
      for (const r of records) {
        const key = tpKey(r);
        if (!open.has(key) || r.offset >= offsets.get(key)!.end) continue;
        scanned++;
        const view = messageView(r);
        if (!matches(view, q.filter)) continue;
        const list = perPartition.get(key)!;
        list.push(view);
        if (q.from === 'end') {
          if (list.length > q.limit) list.shift();
        } else if (list.length >= q.limit) {
          open.delete(key);
        }
      }
      for (const tp of active) {
        const key = tpKey(tp);
        if (open.has(key) && (consumer.position(tp) ?? 0) >= offsets.get(key)!.end) open.delete(key);
      }
      consumer.pause(active.filter((tp) => !open.has(tpKey(tp))));
    }
  } finally {
    await consumer.close().catch(() => {});
  }
  const all = [...perPartition.values()].flat().sort(byTime);
  return q.from === 'end' ? all.slice(Math.max(0, all.length - q.limit)) : all.slice(0, q.limit);
}

/** Resolves when the response can take more (drain) or is gone (close). */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** One server-sent event. */
export function sseEvent(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
  res.flushHeaders();
}

let openTails = 0;

export function registerMessageRoutes(router: Router): void {
  router.add('GET', '/api/topics/:name/messages', async ({ app, res, params, query }) => {
    const from = query.get('from') ?? 'end';
    if (from !== 'beginning' && from !== 'end' && from !== 'offset' && from !== 'timestamp') {
      throw new HttpError(400, `from must be beginning, end, offset or timestamp, not "${from}"`);
    }
    const offset = queryInt(query, 'offset', undefined);
    const timestamp = queryInt(query, 'timestamp', undefined);
    if (from === 'offset' && offset === undefined) throw new HttpError(400, 'from=offset needs offset=N');
    if (from === 'timestamp' && timestamp === undefined) throw new HttpError(400, 'from=timestamp needs timestamp=MS (milliseconds since the epoch)');
    const limit = queryInt(query, 'limit', 50, 1, MAX_BROWSE_LIMIT)!;
    const partitions = await partitionsOf(app, params.name!, query.get('partition'));
    const messages = await browse(app, params.name!, { partitions, from, offset, timestamp, limit, filter: query.get('filter') ?? '' });
    sendJson(res, 200, { messages });
  });

  router.add('POST', '/api/topics/:name/messages', async ({ app, res, params, body }) => {
    const b = asObject(await body());
    const field = (k: string): string | null => {
      const v = b[k];
      if (v === undefined || v === null) return null;
      if (typeof v !== 'string') throw new HttpError(400, `"${k}" must be a string or null`);
      return v;
    };
    const key = field('key');
    const value = field('value');
    const headers: Array<{ key: string; value: string | null }> = [];
    if (b.headers !== undefined && b.headers !== null) {
      if (!Array.isArray(b.headers)) throw new HttpError(400, '"headers" must be a list of {key, value}');
      for (const h of b.headers) {
        const o = asObject(h, 'a header');
        if (typeof o.key !== 'string' || o.key === '') throw new HttpError(400, 'a header needs a non-empty "key"');
        if (o.value !== null && o.value !== undefined && typeof o.value !== 'string') throw new HttpError(400, `header "${o.key}" value must be a string or null`);
        headers.push({ key: o.key, value: (o.value as string | null | undefined) ?? null });
      }
    }
    const partition = optInt(b, 'partition', 0);
    const partitions = await partitionsOf(app, params.name!, partition === undefined ? null : String(partition));
    if (partitions.length === 0) throw new HttpError(404, `topic '${params.name}' has no partitions`);
    const producer = await app.kafka.getProducer();
    const md = await producer.send({ topic: params.name!, key, value, headers, ...(partition !== undefined ? { partition } : {}) });
    sendJson(res, 201, { partition: md.partition, offset: md.offset });
  });

  router.add('GET', '/api/topics/:name/tail', async ({ app, req, res, params, query }) => {
    const topic = params.name!;
    const partitions = await partitionsOf(app, topic, query.get('partition'));
    const filter = query.get('filter') ?? '';
    if (openTails >= MAX_TAILS) throw new HttpError(429, `too many live tails open (${MAX_TAILS}); close one first`);
    openTails++;
    const consumer = newConsumer(app, 'tributary-console-tail');
    let closed = false;
    const stop = (): void => {
      if (closed) return;
      closed = true;
      openTails--;
      app.streams.delete(stop);
      clearInterval(ping);
      void consumer.close().catch(() => {});
      if (res.headersSent && !res.writableEnded) res.end();
    };
    const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
    app.streams.add(stop);
    req.on('close', stop);
    res.on('close', stop);
    try {
      await consumer.connect();
      const tps = partitions.map((partition) => ({ topic, partition }));
      consumer.assign(tps);
      await consumer.seekToEnd(tps);
      if (closed) return;
      startSse(res);
      // Positions are fixed: anything produced from now on is sent.
      res.write(sseEvent('ready', { partitions }));
      while (!closed) {
        const records = await consumer.poll(1000);
        for (const r of records) {
          if (closed) break;
          const view = messageView(r);
          if (!matches(view, filter)) continue;
          if (!res.write(sseEvent('message', view))) await writable(res);
        }
      }
    } catch (err) {
      if (!res.headersSent) {
        stop();
        throw err;
      }
      res.write(sseEvent('error', { error: (err as Error).message }));
      stop();
    }
  });
}
