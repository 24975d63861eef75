/**
 * The console in a real browser (Debian's chromium through playwright-core) against an in-process broker and
 * the console server (startConsole): every page loads without console errors and without serious or critical axe-core
 * violations, with a screenshot of each in test-artifacts/console/ (the README's come from here); then end to
 * end: create a topic, produce messages (HTML in one stays text, JSON is pretty-printed, headers shown), browse
 * them (from the beginning, an offset, a timestamp, one partition, a filter; binary as base64), tail live, edit a
 * config, add partitions, delete a topic by typing its name, reset a group's offsets (dry run first), log in, and
 * read-only mode without mutating controls.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startBroker, type RunningBroker } from '../../../src/index.js';
import { Admin } from '../../../src/client/admin.js';
import { Producer } from '../../../src/client/producer.js';
import { Consumer } from '../../../src/client/consumer.js';
import { startConsole } from '../../../src/console/server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../../..');
const artifacts = join(root, 'test-artifacts/console');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let dataDir: string;
let broker: RunningBroker;
let admin: Admin;
let console_: { url: string; close(): Promise<void> };
let browser: Browser;
let page: Page;
/** Console errors and page errors seen since the last `visit`. */
let errors: string[] = [];

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  dataDir = await mkdtemp(join(tmpdir(), 'console-browser-'));
  // Metrics on, so the overview draws its latency and bytes charts from the broker's real endpoint.
  broker = await startBroker({ host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent', config: { 'metrics.port': 0 } });
  admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
  await admin.connect();
  await admin.createTopics([{ name: 'orders', numPartitions: 3 }, { name: 'clickstream', numPartitions: 6 }, { name: 'payments', numPartitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
  const producer = new Producer({ bootstrapServers: broker.address });
  try {
    for (let i = 0; i < 9; i++) {
      await producer.send({ topic: 'orders', partition: i % 3, key: `order-${i}`, value: JSON.stringify({ id: i, item: 'book', price: 12.5 + i }), headers: [{ key: 'source', value: 'seed' }] });
    }
  } finally {
    await producer.close();
  }
  // A group with committed offsets and no members (so Kafka lets the console reset it).
  await admin.alterGroupOffsets('billing', [0, 1, 2].map((partition) => ({ topic: 'orders', partition, offset: 2 })));
  // Ticks every 200 ms so the charts have points within the test's time.
  console_ = await startConsole({ client: { bootstrapServers: broker.address }, port: 0, host: '127.0.0.1', tickIntervalMs: 200, metricsUrl: broker.metricsUrl });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
});

after(async () => {
  await browser?.close();
  await console_?.close();
  await admin?.close();
  await broker?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

const base = () => console_.url.replace(/\/$/, '');

/** Waits until the page is settled: a title rendered and nothing marked aria-busy. */
async function settled(): Promise<void> {
  await page.waitForFunction(() => {
    const d = (globalThis as any).document;
    return !!d.querySelector('main h1') && !d.querySelector('[aria-busy=true]');
  }, undefined, { timeout: 10_000 });
}

async function visit(hash: string): Promise<void> {
  errors = [];
  await page.goto(`${base()}/${hash}`);
  await settled();
}

/** Runs axe-core on the page; fails on serious or critical violations. */
async function checkA11y(name: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const r = await (globalThis as any).axe.run((globalThis as any).document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')) }));
  }) as { id: string; impact: string; help: string; targets: string[] }[];
  const bad = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${name}: accessibility violations`);
}

/** The value of the overview or group stat with this label. */
async function statValue(label: string): Promise<string | null> {
  return page.locator('.stat').filter({ has: page.locator('.stat-label', { hasText: new RegExp(`^${label}$`) }) }).locator('.stat-value').textContent();
}

async function shoot(name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

/** The errors seen, minus the 400 the security pages expect when the cluster has no authorizer. */
function unexpectedErrors(securityDisabledAllowed: boolean): string[] {
  return errors.filter((e) => !(securityDisabledAllowed && /status of 400/.test(e) && /\/api\/(acls|users|quotas)/.test(e)));
}

const PAGES: [string, string, string][] = [
  ['overview', '#/', 'Overview'],
  ['topics', '#/topics', 'Topics'],
  ['topic', '#/topics/orders/partitions', 'orders'],
  ['topic-consumers', '#/topics/orders/consumers', 'orders'],
  ['topic-configs', '#/topics/orders/configs', 'orders'],
  ['messages', '#/topics/orders/messages', 'orders'],
  ['groups', '#/groups', 'Consumer groups'],
  ['group', '#/groups/billing', 'billing'],
  ['brokers', '#/brokers', 'Brokers'],
  ['broker', `#/brokers/0`, 'Broker 0'],
  ['acls', '#/acls', 'ACLs'],
  ['users', '#/users', 'Users (SCRAM)'],
  ['quotas', '#/quotas', 'Quotas'],
  ['reports', '#/reports', 'Reports'],
  ['pipelines', '#/pipelines', 'Pipelines'],
];

test('every page loads without console errors or serious accessibility violations', async () => {
  PAGES[9]![1] = `#/brokers/${broker.nodeId}`;
  PAGES[9]![2] = `Broker ${broker.nodeId}`;
  for (const [name, hash, title] of PAGES) {
    await visit(hash);
    assert.equal((await page.locator('main h1').first().textContent())?.trim(), title, `${name}: title`);
    if (name === 'overview') {
      // Traffic spread over a second while the page listens (the server keeps ticks only while someone does).
      const producer = new Producer({ bootstrapServers: broker.address });
      try {
        for (let i = 0; i < 10; i++) {
          await producer.sendBatch(Array.from({ length: 5 * (i + 1) }, (_, j) => ({ topic: j % 2 ? 'orders' : 'clickstream', partition: j % 3, value: `traffic ${i}/${j}` })));
          await new Promise((r) => setTimeout(r, 100));
        }
      } finally {
        await producer.close();
      }
      // The counts refresh at most every 2 s after traffic.
      await page.waitForTimeout(1000);
      // The charts are drawn (uPlot canvases) and the counts are the broker's.
      await page.locator('.uplot canvas').first().waitFor({ timeout: 5000 });
      assert.equal(await statValue('Brokers'), '1');
      assert.equal(await statValue('Controller'), String(broker.nodeId));
    }
    if (name === 'topics') assert.equal(await page.locator('table[aria-label="Topics"] tbody tr').count(), 3);
    if (name === 'topic') assert.equal(await page.locator('table[aria-label="Partitions"] tbody tr').count(), 3);
    if (name === 'messages') await page.locator('.msg').first().waitFor();
    if (name === 'group') assert.match(await page.locator('table[aria-label="Lag per partition"]').textContent() ?? '', /orders/);
    if (name === 'pipelines') assert.match(await page.locator('table[aria-label="Sink pipelines"] + .placeholder').textContent() ?? '', /tributary connect/);
    if (name === 'topic-configs') assert.match(await page.locator('table[aria-label="Configs"]').textContent() ?? '', /cleanup\.policy/);
    await checkA11y(name);
    await shoot(name);
    assert.deepEqual(unexpectedErrors(['acls', 'users', 'quotas'].includes(name)), [], `${name}: console errors`);
  }
});

test('keyboard: / focuses the search box, Esc closes a dialog; sortable columns', async () => {
  await visit('#/topics');
  const firstTopic = () => page.locator('table[aria-label="Topics"] tbody tr td:first-child a').first().textContent();
  assert.equal(await firstTopic(), 'clickstream', 'by name');
  await page.getByRole('button', { name: 'Partitions' }).click();
  assert.equal(await firstTopic(), 'payments', 'fewest partitions first');
  await page.getByRole('button', { name: 'Partitions' }).press('Enter');
  assert.equal(await firstTopic(), 'clickstream', 'most partitions first');
  assert.equal(await page.locator('th[aria-sort=descending]').textContent(), 'Partitions ▼');
  await page.keyboard.press('/');
  assert.equal(await page.evaluate('document.activeElement && document.activeElement.type'), 'search');
  await page.keyboard.press('Escape');
  await page.getByRole('button', { name: 'Create topic' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog[open]').waitFor();
  await checkA11y('create-topic dialog');
  await page.keyboard.press('Escape');
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
});

test('create a topic, produce a message with HTML and one with JSON, browse them, tail live', async () => {
  await visit('#/topics');
  await page.getByRole('button', { name: 'Create topic' }).click();
  await page.locator('dialog input[name=name]').fill('ui-created');
  await page.locator('dialog input[name=partitions]').fill('2');
  await shoot('create-topic');
  await page.getByRole('button', { name: 'Create', exact: true }).click();
  await page.waitForURL(/#\/topics\/ui-created$/);
  await settled();
  assert.ok((await admin.listTopics()).includes('ui-created'), 'the broker has the topic');
  assert.equal(await page.locator('table[aria-label="Partitions"] tbody tr').count(), 2);

  const html = '<img src=x onerror="globalThis.__xss=1"><b>bold</b> & <script>globalThis.__xss=2</script>';
  await page.getByRole('button', { name: 'Produce message' }).click();
  await page.locator('dialog input[name=key]').fill('html-key');
  await page.locator('dialog textarea[name=value]').fill(html);
  await page.getByRole('button', { name: 'Add header' }).click();
  await page.locator('dialog input[name=header-key-0]').fill('trace-id');
  await page.locator('dialog input[name=header-value-0]').fill('abc-123');
  await page.locator('dialog select[name=partition]').selectOption('1');
  await shoot('produce');
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'Produced to partition 1 at offset 0' }).waitFor();
  await page.locator('dialog input[name=key]').fill('json-key');
  await page.locator('dialog textarea[name=value]').fill('{"a":1,"b":[true,null]}');
  await page.getByRole('button', { name: 'Remove header 1' }).click();
  await page.getByRole('button', { name: 'Produce', exact: true }).click();
  await page.getByRole('status').filter({ hasText: 'at offset 1' }).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('dialog[open]').waitFor({ state: 'detached' });

  await page.getByRole('link', { name: 'Messages' }).click();
  await settled();
  await page.locator('select[name=from]').selectOption('beginning');
  await page.getByRole('button', { name: 'Load' }).click();
  await page.locator('.msg').nth(1).waitFor();
  await settled();
  assert.equal(await page.locator('.msg').count(), 2);
  const htmlMsg = page.locator('.msg', { hasText: 'html-key' });
  await htmlMsg.locator('summary').click();
  assert.equal(await htmlMsg.locator('pre').textContent(), html, 'the value is shown as text, unchanged');
  assert.equal(await page.locator('.msg-list img, .msg-list b, .msg-list script').count(), 0, 'no element made from message data');
  assert.equal(await page.evaluate('globalThis.__xss'), undefined);
  assert.match(await htmlMsg.locator('table[aria-label="Headers"]').textContent() ?? '', /trace-id\s*abc-123/);
  const jsonMsg = page.locator('.msg', { hasText: 'json-key' });
  await jsonMsg.locator('summary').click();
  assert.equal(await jsonMsg.locator('pre').textContent(), '{\n  "a": 1,\n  "b": [\n    true,\n    null\n  ]\n}', 'JSON pretty-printed');
  await checkA11y('message browser (expanded)');
  await shoot('message-browser');

  // The filter narrows to the HTML message.
  await page.locator('input[name=filter]').fill('abc-123');
  await page.getByRole('button', { name: 'Load' }).click();
  await settled();
  await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('.msg').length === 1);

  // Live tail: a message produced by a client shows up without reloading.
  await page.locator('input[name=filter]').fill('');
  await page.getByRole('button', { name: 'Live tail' }).click();
  await page.waitForTimeout(300);
  const producer = new Producer({ bootstrapServers: broker.address });
  try {
    await producer.send({ topic: 'ui-created', key: 'tailed', value: 'live value' });
  } finally {
    await producer.close();
  }
  await page.locator('.msg', { hasText: 'live value' }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: /Live/ }).click();
  assert.deepEqual(errors, [], 'no console errors');
});

test('edit a topic config, add partitions, delete a topic by typing its name', async () => {
  await visit('#/topics/ui-created/configs');
  await page.locator('input[type=search]').fill('retention.ms');
  await page.getByRole('button', { name: 'Edit retention.ms' }).click();
  await page.locator('dialog input[name=value]').fill('3600000');
  await page.locator('dialog').getByRole('button', { name: 'Save' }).click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
  const [described] = await admin.describeConfigs([{ type: 'topic', name: 'ui-created', keys: ['retention.ms'] }]);
  assert.equal(described!.configs.find((c) => c.name === 'retention.ms')?.value, '3600000');

  await page.getByRole('button', { name: 'Add partitions' }).click();
  await page.locator('dialog input[name=count]').fill('4');
  await page.locator('dialog').getByRole('button', { name: 'Add partitions' }).click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
  assert.equal((await admin.describeTopics(['ui-created']))[0]!.partitions.length, 4);

  await visit('#/topics');
  await page.getByRole('button', { name: 'Delete topic ui-created' }).click();
  const confirm = page.locator('dialog').getByRole('button', { name: 'Delete' });
  assert.equal(await confirm.isDisabled(), true, 'disabled until the name is typed');
  await page.locator('dialog input').fill('ui-create');
  assert.equal(await confirm.isDisabled(), true);
  await page.locator('dialog input').fill('ui-created');
  await confirm.click();
  await page.locator('dialog[open]').waitFor({ state: 'detached' });
  await page.locator('table[aria-label="Topics"] a', { hasText: 'ui-created' }).waitFor({ state: 'detached' });
  assert.ok(!(await admin.listTopics()).includes('ui-created'));
  assert.deepEqual(errors, [], 'no console errors');
});

test('binary values show as base64; browse from an offset, a timestamp, one partition', async () => {
  const producer = new Producer({ bootstrapServers: broker.address });
  let middle: number;
  try {
    await producer.send({ topic: 'payments', key: 'bin', value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]) });
    await new Promise((r) => setTimeout(r, 20));
    middle = Date.now();
    await new Promise((r) => setTimeout(r, 20));
    await producer.send({ topic: 'payments', key: 'later', value: 'after the middle' });
  } finally {
    await producer.close();
  }
  await visit('#/topics/payments/messages');
  await page.locator('.msg').nth(1).waitFor();
  const bin = page.locator('.msg', { hasText: 'bin' });
  assert.match(await bin.locator('summary').textContent() ?? '', /base64\s*3q2\+7/);
  await bin.locator('summary').click();
  assert.equal(await bin.locator('pre').textContent(), Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]).toString('base64'));

  await page.locator('select[name=from]').selectOption('offset');
  await page.locator('input[name=offset]').fill('1');
  await page.locator('select[name=partition]').selectOption('0');
  await page.getByRole('button', { name: 'Load' }).click();
  await settled();
  assert.deepEqual(await page.locator('.msg-key').allTextContents(), ['later']);

  await page.locator('select[name=from]').selectOption('timestamp');
  const local = new Date(middle - new Date(middle).getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await page.locator('input[name=timestamp]').fill(local);
  await page.getByRole('button', { name: 'Load' }).click();
  await settled();
  // The input has minute precision: both messages of this minute (or only the later one, across a minute boundary).
  const keys = await page.locator('.msg-key').allTextContents();
  assert.ok(keys.includes('later') && keys.every((k) => k === 'bin' || k === 'later'), keys.join());
  await checkA11y('message browser (base64)');
  assert.deepEqual(errors, [], 'no console errors');
});

test('reset a group\'s offsets to the earliest, previewed first', async () => {
  await visit('#/groups/billing');
  await page.getByRole('button', { name: 'Reset offsets' }).click();
  await page.locator('dialog select[name=to]').selectOption('earliest');
  await page.locator('dialog select[name=topic]').selectOption('orders');
  await page.getByRole('button', { name: 'Preview (dry run)' }).click();
  await page.locator('dialog caption', { hasText: 'Dry run' }).waitFor();
  assert.equal(await page.locator('dialog tbody tr').count(), 3);
  await shoot('reset-offsets');
  // A dry run commits nothing.
  assert.deepEqual((await admin.listGroupOffsets('billing')).map((o) => o.offset), [2, 2, 2]);
  await page.locator('dialog').getByRole('button', { name: 'Reset offsets' }).click();
  await page.locator('dialog caption', { hasText: 'Offsets reset' }).waitFor();
  const offsets = (await admin.listGroupOffsets('billing')).sort((a, b) => a.partition - b.partition);
  assert.deepEqual(offsets.map((o) => [o.topic, o.partition, o.offset]), [['orders', 0, 0], ['orders', 1, 0], ['orders', 2, 0]]);
  await page.keyboard.press('Escape');
  await settled();
  // The page shows the new lag: every message of the topic, as the group restarts at 0.
  const ends = await admin.listOffsets([0, 1, 2].map((partition) => ({ topic: 'orders', partition, timestamp: 'latest' as const })));
  const expected = ends.reduce((s, e) => s + e.offset, 0).toLocaleString('en-US');
  for (let i = 0; i < 50 && (await statValue('Total lag')) !== expected; i++) await page.waitForTimeout(100);
  assert.equal(await statValue('Total lag'), expected, 'total lag = all the messages of orders');
  assert.deepEqual(errors, [], 'no console errors');
});

test('a group with a member: its assignment is shown, and Kafka refuses the reset (409 with its message)', async () => {
  const consumer = new Consumer({ bootstrapServers: broker.address, groupId: 'analytics', clientId: 'analytics-app', autoOffsetReset: 'earliest' });
  try {
    await consumer.subscribe(['clickstream']);
    for (let i = 0; i < 100 && consumer.assignment().length === 0; i++) await consumer.poll(100);
    assert.equal(consumer.assignment().length, 6);
    let read = 0;
    for (let i = 0; i < 50 && read < 60; i++) read += (await consumer.poll(100)).length;
    await consumer.commit();
    await visit('#/groups/analytics');
    const members = page.locator('table[aria-label="Members"]');
    await members.locator('tbody tr').first().waitFor();
    assert.match(await members.textContent() ?? '', /analytics-app.*clickstream: 0, 1, 2, 3, 4, 5/);
    assert.equal(await statValue('State'), 'Stable');
    assert.equal(await statValue('Total lag'), '0');
    await checkA11y('group with a member');
    await shoot('group-active');
    await page.getByRole('button', { name: 'Reset offsets' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Reset offsets' }).click();
    const alert = page.locator('dialog [role=alert]');
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '', /NON_EMPTY_GROUP|not empty|active members/i);
    // The only console error is the refused reset's 409.
    assert.deepEqual(errors.filter((e) => !/status of 409/.test(e)), []);
    assert.equal(errors.length, 1, errors.join('\n'));
    await page.keyboard.press('Escape');
  } finally {
    await consumer.close();
  }
});

test('login page, then read-only mode shows no controls that change anything', async () => {
  const locked = await startConsole({ client: { bootstrapServers: broker.address }, port: 0, host: '127.0.0.1', readOnly: true, login: new Map([['admin', 's3cret-pw']]) });
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  const p = await context.newPage();
  const seen: string[] = [];
  p.on('console', (m) => { if (m.type() === 'error') seen.push(m.text()); });
  p.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  const main = page;
  try {
    page = p;
    await p.goto(locked.url);
    await p.locator('form input[name=username]').waitFor();
    await checkA11y('login');
    await shoot('login');
    await p.locator('input[name=username]').fill('admin');
    await p.locator('input[name=password]').fill('wrong');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('alert').waitFor();
    await p.locator('input[name=password]').fill('s3cret-pw');
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.locator('main h1', { hasText: 'Overview' }).waitFor();
    assert.equal(await p.locator('.session-info .badge', { hasText: 'read-only' }).count(), 1);
    await p.goto(`${locked.url.replace(/\/$/, '')}/#/topics`);
    await settled();
    assert.equal(await p.locator('table[aria-label="Topics"] tbody tr').count(), 3, 'the topics are listed');
    assert.equal(await p.locator('main button', { hasText: /Create|Delete/ }).count(), 0);
    await p.goto(`${locked.url.replace(/\/$/, '')}/#/topics/orders/messages`);
    await settled();
    await p.locator('.msg').first().waitFor();
    assert.equal(await p.locator('main button', { hasText: /Produce|Add partitions|Delete/ }).count(), 0);
    await p.goto(`${locked.url.replace(/\/$/, '')}/#/groups/billing`);
    await settled();
    assert.equal(await p.locator('main button', { hasText: /Reset|Delete/ }).count(), 0);
    await p.getByRole('button', { name: 'Sign out' }).click();
    await p.locator('form input[name=username]').waitFor();
    // The only error is the refused login (401).
    assert.deepEqual(seen.filter((e) => !/status of 401/.test(e)), []);
    assert.equal(seen.length, 1, seen.join('\n'));
  } finally {
    page = main;
    await context.close();
    await locked.close();
  }
});
