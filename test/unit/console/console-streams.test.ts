/**
 * The console's streams pages in a real browser (Debian's chromium through playwright-core): a running KafkaStreams
 * application is listed with its state and its consumer group's state, members and lag, and its page shows the
 * topology text it published; the API answers 404 for an application that never published.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { startConsole } from '../../../src/console/server.js';
import { Consumed, Grouped, KafkaStreams, Materialized, Produced, Serdes, StreamsBuilder, type Topology } from '../../../src/streams/index.js';
import { FAST_GROUPS } from '../client/consumer-support.js';
import { createTopics, fastProps, produce } from '../streams/runtime-support.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const S = Serdes.String();

let dataDir: string;
let broker: RunningBroker;
let app: KafkaStreams;
let topology: Topology;
let console_: { url: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
const errors: string[] = [];

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'console-streams-'));
  broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { ...FAST_GROUPS, 'offsets.topic.num.partitions': 1 } });
  await createTopics(broker.address, [{ name: 'clicks', partitions: 2 }, { name: 'clicks-per-page', partitions: 2 }]);
  const b = new StreamsBuilder();
  b.stream('clicks', Consumed.with(S, S)).groupBy((_k, page) => page, Grouped.with(S, S)).count(Materialized.with(S, Serdes.Long()))
    .toStream().mapValues((n) => String(n)).to('clicks-per-page', Produced.with(S, S));
  topology = b.build();
  app = new KafkaStreams(topology, fastProps(broker.address, 'click-counter'));
  let failure: Error | undefined;
  app.setUncaughtExceptionHandler((e) => { failure = e; });
  await app.start();
  const deadline = Date.now() + 15_000;
  while (app.state() !== 'RUNNING' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(app.state(), 'RUNNING', failure?.stack);
  await produce(broker.address, 'clicks', [{ key: 'u1', value: '/home' }, { key: 'u2', value: '/cart' }]);
  console_ = await startConsole({ client: { bootstrapServers: broker.address }, port: 0, host: '127.0.0.1' });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await console_?.close();
  await app?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const base = () => console_.url.replace(/\/$/, '');

async function settled(): Promise<void> {
  await page.waitForFunction(() => {
    const d = (globalThis as any).document;
    return !!d.querySelector('main h1') && !d.querySelector('[aria-busy=true]');
  }, undefined, { timeout: 10_000 });
}

async function checkA11y(name: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help }));
  }) as { id: string; impact: string; help: string }[];
  assert.deepEqual(violations.filter((v) => v.impact === 'serious' || v.impact === 'critical'), [], `${name}: accessibility violations`);
}

test('the streams page lists the running application with its group; its page shows the published topology', async () => {
  await page.goto(`${base()}/#/streams`);
  await settled();
  assert.equal((await page.locator('main h1').first().textContent())?.trim(), 'Streams applications');
  assert.equal(await page.locator('nav a', { hasText: /^Streams$/ }).count(), 1, 'in the navigation');
  const row = page.locator('table[aria-label="Streams applications"] tbody tr', { hasText: 'click-counter' });
  await row.waitFor({ timeout: 10_000 });
  const cells = (await row.locator('td').allTextContents()).map((t) => t.trim());
  assert.deepEqual(cells.slice(0, 4), ['click-counter', 'RUNNING', 'Stable', '1']);
  assert.match(cells[4]!, /^\d+$/, 'lag');
  assert.equal(cells[5], 'click-counter-StreamThread-1');
  await checkA11y('streams');

  await row.locator('a', { hasText: 'click-counter' }).click();
  await page.waitForFunction(() => (globalThis as any).location.hash === '#/streams/click-counter');
  await page.locator('pre.topology').waitFor({ timeout: 10_000 });
  assert.equal((await page.locator('main h1').first().textContent())?.trim(), 'click-counter');
  assert.equal(await page.locator('pre.topology').textContent(), topology.describe().toString());
  assert.match(await page.locator('dl.facts').textContent() ?? '', /Consumer groupclick-counter Stable, 1 member\(s\), lag \d+/);
  await checkA11y('streams app');
  assert.deepEqual(errors, []);
});

test('the API: the list as JSON, 404 for an application that never published', async () => {
  const list = await (await fetch(`${base()}/api/streams`)).json() as { apps: Array<{ applicationId: string; groupState: string; description: string }> };
  assert.deepEqual(list.apps.map((a) => [a.applicationId, a.groupState]), [['click-counter', 'Stable']]);
  assert.equal(list.apps[0]!.description, topology.describe().toString());
  const missing = await fetch(`${base()}/api/streams/nobody`);
  assert.equal(missing.status, 404);
  assert.match(JSON.stringify(await missing.json()), /no streams application 'nobody' has published its topology/);
});
