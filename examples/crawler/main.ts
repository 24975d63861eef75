/**
 * A crawler into a database through a topic: the crawler fetches pages of a local fixture site (started here),
 * produces one record per page (url, status, title, links, size) to `crawled-pages`, and a sink pipeline — the
 * same runtime as `tributary connect` — writes them into SQLite (upsert by url, exactly-once). The crawler never
 * waits for the database, and more readers (an indexer, a link checker) could read the same topic.
 *
 *   node dist/examples/crawler/main.js [--max-pages 50] [--out DIR]
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Producer } from '../../src/index.js';
import { parsePipeline } from '../../src/connect/config.js';
import { runSinkPipeline } from '../../src/connect/sink-runtime.js';
import { cliMain, intFlag, openEnv, within, type ExampleOptions } from '../common.js';
import { startSite } from './site.js';

export interface PageRecord {
  url: string;
  status: number;
  title: string | null;
  /** Absolute URLs of the page's links, in page order. */
  links: string[];
  size: number;
  fetchedAt: string;
}

export interface CrawlerSummary {
  site: string;
  topic: string;
  /** Pages fetched and produced, in crawl order. */
  crawled: PageRecord[];
  /** Links to other hosts, seen but not followed. */
  external: number;
  database: string;
  databaseKept: boolean;
  /** What the pages table holds after the sink ran. */
  rows: Array<{ url: string; status: number; title: string | null; size: number; links: string }>;
  elapsedMs: number;
}

/** The <title> and every <a href> of a page. */
export function parsePage(html: string, base: string): { title: string | null; links: string[] } {
  const title = /<title>([^<]*)<\/title>/i.exec(html)?.[1]?.trim() ?? null;
  const links: string[] = [];
  for (const m of html.matchAll(/<a\s[^>]*href="([^"]+)"/gi)) {
    try {
      links.push(new URL(m[1], base).href);
    } catch {
      // not a URL: skip it, as a browser would
    }
  }
  return { title, links };
}

export async function runCrawler(options: ExampleOptions & { maxPages?: number } = {}): Promise<CrawlerSummary> {
  const maxPages = options.maxPages ?? 50;
  const started = Date.now();
  const env = await openEnv('crawler', options);
  const site = await startSite();
  const topic = `crawled-pages${env.suffix}`;
  try {
    await env.createTopics([{ name: topic, partitions: 2 }]);

    // Breadth-first from the home page, same host only, each page once.
    const crawled: PageRecord[] = [];
    let external = 0;
    const producer = new Producer({ ...env.client, lingerMs: 5 });
    try {
      await producer.connect();
      const origin = new URL(site.url).origin;
      const queue = [`${site.url}/`];
      const seen = new Set(queue);
      while (queue.length > 0 && crawled.length < maxPages) {
        const url = queue.shift()!;
        const res = await fetch(url);
        const body = await res.text();
        const { title, links } = parsePage(body, url);
        const page: PageRecord = { url, status: res.status, title, links, size: Buffer.byteLength(body), fetchedAt: new Date().toISOString() };
        crawled.push(page);
        await producer.send({ topic, key: url, value: JSON.stringify(page) });
        env.log(`${res.status} ${url} "${title ?? ''}" ${links.length} links, ${page.size} bytes`);
        for (const link of links) {
          const u = new URL(link);
          u.hash = '';
          if (u.origin !== origin) {
            external++;
            continue;
          }
          if (!seen.has(u.href)) {
            seen.add(u.href);
            queue.push(u.href);
          }
        }
      }
    } finally {
      await producer.close();
    }

    // The sink: a pipeline as `tributary connect` would run it from this YAML:
    //   pipelines:
    //     - name: pages-to-db
    //       topic: crawled-pages
    //       sink: { type: sqlite, url: pages.db, table: pages, autoCreate: true, mode: upsert, keyColumns: [url], guarantee: exactly-once }
    const database = join(env.dir, 'pages.db');
    // Each run starts a fresh database: exactly-once keeps its offsets in it, and they belong to the last run's topic.
    for (const suffix of ['', '-wal', '-shm']) await rm(`${database}${suffix}`, { force: true });
    const pipeline = parsePipeline({
      name: 'pages-to-db',
      topic,
      group: `pages-to-db${env.suffix}`,
      sink: { type: 'sqlite', url: database, table: 'pages', autoCreate: true, mode: 'upsert', keyColumns: ['url'], guarantee: 'exactly-once' },
    }, 0, env.dir);
    const controller = new AbortController();
    const result = await within(20_000, 'the sink pipeline', runSinkPipeline(pipeline, env.client, {
      signal: controller.signal,
      once: true,
      idleMs: 300,
      progressIntervalMs: 100,
      log: env.log,
      stream: env.stream,
    }));
    env.log(`pages-to-db: wrote ${result.rows} rows into ${database} table pages`);

    const db = new Database(database, { readonly: true });
    let rows: CrawlerSummary['rows'];
    try {
      rows = db.prepare('SELECT url, status, title, size, links FROM pages ORDER BY url').all() as CrawlerSummary['rows'];
    } finally {
      db.close();
    }
    return { site: site.url, topic, crawled, external, database, databaseKept: !env.temporary, rows, elapsedMs: Date.now() - started };
  } finally {
    await site.close();
    await env.close();
  }
}

export function describe(s: CrawlerSummary): string {
  const broken = s.crawled.filter((p) => p.status >= 400).length;
  const bytes = s.crawled.reduce((n, p) => n + p.size, 0);
  return `crawler: crawled ${s.crawled.length} pages from ${s.site} (${broken} broken, ${s.external} external links not followed, ${bytes} bytes) → ${s.topic} → ` +
    `${s.rows.length} rows in SQLite table pages${s.databaseKept ? ` (${s.database})` : ''}; ${s.elapsedMs} ms`;
}

await cliMain(import.meta.url, 'usage: node dist/examples/crawler/main.js [--max-pages N] [--out DIR]', {
  'max-pages': { type: 'string' },
}, async (values, common) => describe(await runCrawler({ ...common, maxPages: intFlag(values, 'max-pages', 50) })));
