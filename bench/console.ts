/**
 * The console's and the metrics endpoint's costs (`npm run bench -- --only console`), all against `tributary start`
 * child processes in the same run:
 * - page weight: index.html and every file it loads, fetched from a running console as served (identity, gzip, br);
 * - first load: Debian's chromium through playwright-core, one browser, a fresh context (empty cache) per run, a cold
 *   navigation to the overview until it is settled (a title drawn and nothing aria-busy, the browser test's condition:
 *   the overview's stats hold the cluster's data); DOMContentLoaded and settled from the page's navigation start, median;
 * - idle RSS: three brokers side by side — plain, --console-port, --console-port with --metrics-port — after they
 *   settle, and again after a browser has had each console open for a few seconds and closed; ratio to plain;
 * - scrape cost: a broker with --metrics-port and P partitions (topics of 100), median time to serve /metrics and its
 *   size; a size the open-files limit cannot hold (or that takes longer than the case's budget to create) is skipped
 *   with a message.
 */
import { readFile, rm, mkdtemp, readdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Admin } from '../src/client/admin.js';
import { spawnBroker, type BrokerProcess } from '../test/compat/support/broker-process.js';
import { freePort } from '../test/helpers/free-ports.js';
import { median } from './support.js';

export interface ConsoleBenchOptions {
  workDir: string;
  /** First-load runs per console (median reported). */
  loads: number;
  /** How long the brokers idle before the first RSS sample, ms. */
  settleMs: number;
  /** How long the browser keeps each console open before the second RSS sample, ms. */
  openMs: number;
  /** Partition counts for the scrape-cost cases. */
  partitions: number[];
  /** Scrapes per case (median reported). */
  scrapes: number;
  /** Budget for creating one case's partitions, ms. */
  caseBudgetMs: number;
}

interface FileWeight { path: string; raw: number; gzip: number; br: number }
interface LoadTimes { dclMs: number; settledMs: number }
interface ScrapeCase { partitions: number; skipped?: string; createMs?: number; openFds?: number; medianMs?: number; firstMs?: number; runsMs?: number[]; bytes?: number; series?: number }

export interface ConsoleBenchResult {
  date: string;
  weight: { files: FileWeight[]; raw: number; gzip: number; br: number };
  firstLoad: Record<string, { runs: LoadTimes[]; dclMs: number; settledMs: number }>;
  rss: { settleMs: number; openMs: number; idleMb: Record<string, number>; afterBrowserMb: Record<string, number> };
  scrape: ScrapeCase[];
}

const CHROMIUM_ARGS = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN) / 1024;
}

/** A GET with this Accept-Encoding; the body's bytes as sent (not decoded), and the time to the last byte. */
function get(url: string, encoding: string): Promise<{ status: number; body: Buffer; ms: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { 'Accept-Encoding': encoding } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(30_000, () => req.destroy(new Error(`GET ${url} timed out`)));
    req.end();
  });
}

/** The console's URL from the broker's "Tributary console at …" line. */
async function consoleUrl(broker: BrokerProcess): Promise<string> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const match = /Tributary console at (\S+)/.exec(broker.output());
    if (match) return match[1]!.replace(/\/$/, '');
    if (Date.now() > deadline) throw new Error(`the console did not start:\n${broker.output()}`);
    await sleep(50);
  }
}

/** index.html and what it references (stylesheet, module script, icon), each as served three ways. */
async function pageWeight(base: string): Promise<ConsoleBenchResult['weight']> {
  const index = await get(`${base}/`, 'identity');
  if (index.status !== 200) throw new Error(`GET ${base}/ answered ${index.status}`);
  const refs = [...index.body.toString('utf8').matchAll(/\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]!);
  const files: FileWeight[] = [];
  for (const path of ['index.html', ...refs]) {
    const url = `${base}/${path}`;
    const sizes = await Promise.all(['identity', 'gzip', 'br'].map(async (enc) => {
      const r = await get(url, enc);
      if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
      return r.body.length;
    }));
    files.push({ path, raw: sizes[0]!, gzip: sizes[1]!, br: sizes[2]! });
  }
  const sum = (k: 'raw' | 'gzip' | 'br'): number => files.reduce((n, f) => n + f[k], 0);
  return { files, raw: sum('raw'), gzip: sum('gzip'), br: sum('br') };
}

/** A cold load in a fresh context: DOMContentLoaded and settled, both from the navigation's start. */
async function firstLoad(browser: Browser, base: string): Promise<LoadTimes> {
  const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
  try {
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/#/`, { waitUntil: 'commit' });
    const settled = await page.waitForFunction(() => {
      const d = (globalThis as any).document;
      return !!d.querySelector('main h1') && !!d.querySelector('.stat-value') && !d.querySelector('[aria-busy=true]') && (globalThis as any).performance.now();
    }, undefined, { timeout: 20_000, polling: 10 });
    const settledMs = (await settled.jsonValue()) as number;
    const dclMs = await page.evaluate(() => {
      const nav = (globalThis as any).performance.getEntriesByType('navigation')[0];
      return nav.domContentLoadedEventEnd as number;
    });
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    return { dclMs, settledMs };
  } finally {
    await context.close();
  }
}

async function scrapeCase(dir: string, partitions: number, scrapes: number, budgetMs: number): Promise<ScrapeCase> {
  const metricsPort = await freePort();
  const broker = await spawnBroker(join(dir, `scrape-${partitions}`), { settings: { 'metrics.port': String(metricsPort) } });
  const url = `http://127.0.0.1:${metricsPort}/metrics`;
  const admin = new Admin({ bootstrapServers: broker.address, clientId: 'bench-console', retries: 1, retryBackoffMs: 100 });
  try {
    await admin.connect();
    const started = performance.now();
    const TOPIC_PARTITIONS = 100;
    const topics = Math.ceil(partitions / TOPIC_PARTITIONS);
    for (let t = 0; t < topics; t++) {
      const n = Math.min(TOPIC_PARTITIONS, partitions - t * TOPIC_PARTITIONS);
      try {
        await admin.createTopics([{ name: `scrape-${t}`, numPartitions: n, replicationFactor: 1 }], { timeoutMs: budgetMs });
      } catch (error) {
        const text = `${(error as Error).message}\n${broker.output()}`;
        if (/EMFILE|too many open files/i.test(text)) {
          const limit = /^Max open files\s+(\d+)/m.exec(await readFile(`/proc/${broker.pid}/limits`, 'utf8').catch(() => ''))?.[1] ?? '?';
          return { partitions, skipped: `the open-files limit (ulimit -n ${limit}) was hit after ${t * TOPIC_PARTITIONS} partitions; the broker keeps 3 files open per partition` };
        }
        throw error;
      }
      if (performance.now() - started > budgetMs) {
        return { partitions, skipped: `creating the partitions took longer than ${budgetMs / 1000} s (${(t + 1) * TOPIC_PARTITIONS} made)` };
      }
    }
    const createMs = performance.now() - started;
    if (/EMFILE|too many open files/i.test(broker.output())) {
      return { partitions, skipped: 'the broker logged EMFILE (too many open files) while creating the partitions' };
    }
    const openFds = (await readdir(`/proc/${broker.pid}/fd`)).length;
    const runsMs: number[] = [];
    let bytes = 0;
    let series = 0;
    for (let i = 0; i < scrapes + 1; i++) {
      const r = await get(url, 'identity');
      if (r.status !== 200) throw new Error(`GET ${url} answered ${r.status}`);
      runsMs.push(r.ms);
      bytes = r.body.length;
      series = r.body.toString('utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    }
    // The first scrape separately (prom-client builds its label maps); the median of the rest.
    const [firstMs, ...rest] = runsMs;
    return { partitions, createMs, openFds, firstMs, medianMs: median(rest), runsMs, bytes, series };
  } finally {
    await admin.close().catch(() => {});
    await broker.stop(10_000);
  }
}

export async function runConsoleBench(options: ConsoleBenchOptions): Promise<ConsoleBenchResult> {
  const dir = await mkdtemp(join(options.workDir, 'console-'));
  const brokers: Record<string, BrokerProcess> = {};
  let browser: Browser | undefined;
  try {
    const metricsPort = await freePort();
    brokers.plain = await spawnBroker(join(dir, 'plain'));
    brokers.console = await spawnBroker(join(dir, 'console'), { args: ['--console-port', '0'] });
    brokers['console+metrics'] = await spawnBroker(join(dir, 'console-metrics'), { args: ['--console-port', '0', '--metrics-port', String(metricsPort)] });
    const consoles: Record<string, string> = {
      console: await consoleUrl(brokers.console),
      'console+metrics': await consoleUrl(brokers['console+metrics']),
    };
    console.log(`brokers: ${Object.entries(brokers).map(([k, b]) => `${k} pid ${b.pid}`).join(', ')}; consoles ${Object.values(consoles).join(', ')}`);

    await sleep(options.settleMs);
    const idleMb: Record<string, number> = {};
    for (const [name, b] of Object.entries(brokers)) idleMb[name] = await rssMb(b.pid);
    console.log(`idle RSS after ${options.settleMs / 1000} s: ${Object.entries(idleMb).map(([k, v]) => `${k} ${v.toFixed(1)} MB`).join(', ')}`);

    const weight = await pageWeight(consoles['console+metrics']!);
    console.log(`page weight: ${weight.raw} B raw, ${weight.gzip} B gzip, ${weight.br} B br (${weight.files.map((f) => f.path).join(', ')})`);

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    // One warm-up load (the browser's own first-page costs), not counted.
    await firstLoad(browser, consoles.console!);
    const runs: Record<string, LoadTimes[]> = { console: [], 'console+metrics': [] };
    for (let i = 0; i < options.loads; i++) {
      // Alternate which console goes first, so the machine's drift spreads over both.
      const order = i % 2 === 0 ? ['console', 'console+metrics'] : ['console+metrics', 'console'];
      for (const name of order) {
        const t = await firstLoad(browser, consoles[name]!);
        runs[name]!.push(t);
        console.log(`load ${i + 1}/${options.loads} ${name.padEnd(15)}: DOMContentLoaded ${t.dclMs.toFixed(0)} ms, settled ${t.settledMs.toFixed(0)} ms`);
      }
    }
    const firstLoadResult: ConsoleBenchResult['firstLoad'] = {};
    for (const [name, r] of Object.entries(runs)) {
      firstLoadResult[name] = { runs: r, dclMs: median(r.map((x) => x.dclMs)), settledMs: median(r.map((x) => x.settledMs)) };
    }

    // Both consoles open at once for a while (live ticks, event stream, history kept), then closed.
    const contexts = await Promise.all(Object.values(consoles).map(async (base) => {
      const context = await browser!.newContext();
      const page = await context.newPage();
      await page.goto(`${base}/#/`);
      return context;
    }));
    await sleep(options.openMs);
    for (const c of contexts) await c.close();
    await browser.close();
    browser = undefined;
    await sleep(2000);
    const afterBrowserMb: Record<string, number> = {};
    for (const [name, b] of Object.entries(brokers)) afterBrowserMb[name] = await rssMb(b.pid);
    console.log(`RSS after a browser had the consoles open ${options.openMs / 1000} s: ${Object.entries(afterBrowserMb).map(([k, v]) => `${k} ${v.toFixed(1)} MB`).join(', ')}`);
    for (const b of Object.values(brokers)) await b.stop();
    for (const k of Object.keys(brokers)) delete brokers[k];

    const scrape: ScrapeCase[] = [];
    for (const partitions of options.partitions) {
      const c = await scrapeCase(dir, partitions, options.scrapes, options.caseBudgetMs);
      console.log(c.skipped ? `scrape ${partitions} partitions: skipped: ${c.skipped}`
        : `scrape ${partitions} partitions: created in ${(c.createMs! / 1000).toFixed(1)} s (${c.openFds} open fds), median ${c.medianMs!.toFixed(1)} ms, first ${c.firstMs!.toFixed(1)} ms, ${c.bytes} B, ${c.series} series`);
      scrape.push(c);
    }
    return { date: new Date().toISOString(), weight, firstLoad: firstLoadResult, rss: { settleMs: options.settleMs, openMs: options.openMs, idleMb, afterBrowserMb }, scrape };
  } finally {
    await browser?.close().catch(() => {});
    for (const b of Object.values(brokers)) await b.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatConsoleTable(r: ConsoleBenchResult): string {
  const kb = (n: number): string => (n / 1000).toFixed(1).padStart(8);
  const lines = ['\nConsole page weight as served (KB = 10^3 B; files under 512 B are sent uncompressed)', 'file             raw      gzip    brotli'];
  for (const f of [...r.weight.files, { path: 'total', raw: r.weight.raw, gzip: r.weight.gzip, br: r.weight.br }]) {
    lines.push(`${f.path.padEnd(12)} ${kb(f.raw)}  ${kb(f.gzip)}  ${kb(f.br)}`);
  }
  const loads = Object.values(r.firstLoad)[0]?.runs.length ?? 0;
  lines.push(`\nFirst load of the overview, chromium, fresh context, median of ${loads} (ms from navigation start)`, 'console           DOMContentLoaded  settled');
  for (const [name, x] of Object.entries(r.firstLoad)) lines.push(`${name.padEnd(16)}  ${x.dclMs.toFixed(0).padStart(16)}  ${x.settledMs.toFixed(0).padStart(7)}`);
  lines.push(`\nBroker RSS (MB) after ${r.rss.settleMs / 1000} s idle, and after a browser had the console open ${r.rss.openMs / 1000} s and closed`, 'broker              idle   ×plain   after browser   ×plain');
  for (const name of Object.keys(r.rss.idleMb)) {
    const idle = r.rss.idleMb[name]!;
    const after = r.rss.afterBrowserMb[name]!;
    lines.push(`${name.padEnd(16)} ${idle.toFixed(1).padStart(7)}  ${(idle / r.rss.idleMb.plain!).toFixed(2).padStart(6)}×  ${after.toFixed(1).padStart(13)}  ${(after / r.rss.afterBrowserMb.plain!).toFixed(2).padStart(6)}×`);
  }
  lines.push('\nGET /metrics (identity)', 'partitions  create s  open fds  first ms  median ms     bytes  series');
  for (const c of r.scrape) {
    if (c.skipped) lines.push(`${String(c.partitions).padStart(10)}  skipped: ${c.skipped}`);
    else {
      lines.push(`${String(c.partitions).padStart(10)}  ${(c.createMs! / 1000).toFixed(1).padStart(8)}  ${String(c.openFds).padStart(8)}  ${c.firstMs!.toFixed(1).padStart(8)}  ${c.medianMs!.toFixed(1).padStart(9)}  ${String(c.bytes).padStart(8)}  ${String(c.series).padStart(6)}`);
    }
  }
  return lines.join('\n');
}
