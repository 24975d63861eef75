import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { parsePage, runCrawler } from '../../../examples/crawler/main.js';
import { PAGES, REACHABLE } from '../../../examples/crawler/site.js';
import { runExampleMain } from './support.js';

test('crawler: title and absolute links of a page', () => {
  const html = '<html><head><title> Hi </title></head><body><a href="/a">a</a> <a class="x" href="b#top">b</a><a href="https://other.example/">o</a></body></html>';
  assert.deepEqual(parsePage(html, 'http://127.0.0.1:1/dir/page'), {
    title: 'Hi',
    links: ['http://127.0.0.1:1/a', 'http://127.0.0.1:1/dir/b#top', 'https://other.example/'],
  });
  assert.deepEqual(parsePage('no markup', 'http://h/'), { title: null, links: [] });
});

test('crawler: every reachable page goes through the topic into the database once', async () => {
  const s = await runCrawler();
  assert.equal(s.crawled.length, REACHABLE + 1, 'every page and the one broken link');
  assert.equal(s.external, 1);
  const paths = s.crawled.map((p) => new URL(p.url).pathname);
  assert.deepEqual([...paths].sort(), [...Object.keys(PAGES), '/jobs'].sort());
  assert.equal(s.rows.length, s.crawled.length);
  const byUrl = new Map(s.crawled.map((p) => [p.url, p]));
  for (const row of s.rows) {
    const page = byUrl.get(row.url);
    assert.ok(page, row.url);
    assert.equal(row.status, page.status);
    assert.equal(row.title, page.title);
    assert.equal(row.size, page.size);
    assert.deepEqual(JSON.parse(row.links), page.links);
    const path = new URL(row.url).pathname;
    if (path === '/jobs') assert.equal(row.status, 404);
    else assert.equal(row.title, PAGES[path].title);
  }
});

test('crawler: --max-pages bounds the crawl; one command with --out keeps the database', async () => {
  const out = mkdtempSync(join(tmpdir(), 'tributary-example-test-'));
  try {
    const run = await runExampleMain('crawler', ['--max-pages', '4', '--out', out, '-q']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^crawler: crawled 4 pages from http:\/\/127\.0\.0\.1:\d+ .* → crawled-pages → 4 rows in SQLite table pages \(.*pages\.db\)/);
    const db = new Database(join(out, 'pages.db'), { readonly: true });
    try {
      const titles = (db.prepare('SELECT title FROM pages ORDER BY title').all() as Array<{ title: string }>).map((r) => r.title);
      assert.deepEqual(titles, ['About us', 'Blog', 'Menu', 'Tributary Coffee']);
    } finally {
      db.close();
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
