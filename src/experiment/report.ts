/**
 * The experiment's report: report.json (every number and the setup), report.md (tables and the conclusions),
 * report.html (self-contained: tables and inline SVG bar charts) and the table printed on stdout. The
 * conclusions are sentences built by comparing the measured values, so they say whatever the numbers say.
 * bench/soak.ts draws its report with lineChart, esc and REPORT_CSS from here, so there is one chart renderer.
 */
import { formatTable } from '../util/format-table.js';
import type { AnalyticsResult, ConsumersResult, DirectIngestResult, IngestResult } from './scenarios.js';

export interface ExperimentSetup {
  rows: number;
  data: string;
  db: string;
  dbKind: string;
  broker: string;
  /** Where the embedded broker ran: 'process' (its own), 'in-process' (this one), or 'external' (--bootstrap-server). */
  brokerPlacement: string;
  lockMs: number;
  /** The direct row-by-row insert's time budget (0: none) and row bound (0: all). */
  rowByRowMs: number;
  rowByRowRows: number;
  /** Rows of the many-consumers scenario (0: all). */
  consumersRows: number;
  /** Where the via-broker path's sink ran: 'worker' (a thread of its own) or 'main'. */
  sinkThread: string;
  analyticsRatePerSec: number;
  analyticsDurationSec: number;
  pollMs: number;
  cores: number;
  cpu: string;
  memoryGiB: number;
  node: string;
  platform: string;
  tributary: string;
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  notes: string[];
}

export interface ExperimentReport {
  setup: ExperimentSetup;
  ingest: IngestResult;
  analytics: AnalyticsResult;
  consumers: ConsumersResult;
  conclusions: string[];
}

export const SECTION_TITLES = {
  ingest: 'High-speed ingest',
  locked: 'Ingest while the database is locked',
  analytics: 'Real-time analytics',
  consumers: 'Many consumers',
  conclusions: 'Conclusions',
  setup: 'Setup',
} as const;

const int = (v: number): string => Math.round(v).toLocaleString('en-US');
const sec = (msv: number): string => `${(msv / 1000).toFixed(2)} s`;
const msf = (v: number): string => `${v.toFixed(v < 10 ? 2 : 1)} ms`;

/** How a locked run's release time compares with the unlocked one, in words that follow the sign. */
function relative(deltaMs: number, lockHeldMs: number): string {
  if (Math.abs(deltaMs) < 0.2 * Math.max(lockHeldMs, 1)) return 'almost as soon as';
  return deltaMs > 0 ? `${sec(deltaMs)} later than` : `${sec(-deltaMs)} sooner than`;
}

/** "3.4× sooner" / "1.2× later": how a compares with b when smaller is better. */
function times(a: number, b: number, better: string, worse: string): string {
  if (a <= 0 || b <= 0) return `${better} (not comparable: a zero measurement)`;
  const r = b / a;
  if (Math.abs(r - 1) < 0.05) return `about as ${better.split(' ')[0]} as`;
  return r > 1 ? `${r.toFixed(r >= 10 ? 0 : 1)}× ${better}` : `${(1 / r).toFixed(1 / r >= 10 ? 0 : 1)}× ${worse}`;
}
const pct = (a: number, b: number): string => {
  const d = ((b - a) / Math.max(a, 1e-9)) * 100;
  return `${d >= 0 ? '+' : ''}${d.toFixed(0)}%`;
};

/**
 * The row-by-row loader's source release: measured when it loaded every row, else projected from its measured
 * rate — then `text` says so, with what it was measured on.
 */
export function rowByRowRelease(row: DirectIngestResult): { ms: number; projected: boolean; text: string } {
  const p = row.projected;
  if (p === null) return { ms: row.sourceReleaseMs, projected: false, text: sec(row.sourceReleaseMs) };
  return { ms: p.sourceReleaseMs, projected: true, text: `${sec(p.sourceReleaseMs)} projected` };
}

/** Why and on what the row-by-row loader's times are projected; null when it loaded every row. */
function rowByRowNote(row: DirectIngestResult): string | null {
  const p = row.projected;
  if (p === null) return null;
  const bound = p.budgetMs > 0 && row.dbRows < p.maxRows ? `its time budget (${sec(p.budgetMs)}, --row-by-row-ms)` : `its row bound (${int(p.maxRows)} rows, --row-by-row-rows)`;
  return `The direct row-by-row insert stopped at ${bound}: it loaded ${int(row.dbRows)} of ${int(row.rows)} rows in ${sec(row.elapsedMs)} (${int(row.rowsPerSec)} rows/s, measured); `
    + `its times for all rows (${sec(p.sourceReleaseMs)}, ${int(p.statements)} statements) are projected at that rate, not measured.`;
}

export function conclusions(r: Omit<ExperimentReport, 'conclusions'>): string[] {
  const [row, batch, broker] = r.ingest.variants;
  const out: string[] = [];
  const sooner = (a: number, b: number): string => {
    const t = times(a, b, 'sooner', 'later');
    return t.startsWith('about') ? 'about as soon as' : `${t} than`;
  };
  const rr = rowByRowRelease(row);
  out.push(
    `Ingest: via the broker the source was released after ${sec(broker.sourceReleaseMs)}, ${sooner(broker.sourceReleaseMs, rr.ms)} with the direct row-by-row insert (${rr.text}`
      + `${rr.projected ? `: ${int(row.dbRows)} of ${int(row.rows)} rows loaded in ${sec(row.elapsedMs)}, the rest at the rate measured on them` : ''}) `
      + `and ${sooner(broker.sourceReleaseMs, batch.sourceReleaseMs)} with the direct batched insert (${sec(batch.sourceReleaseMs)}); `
      + `the rows were all in the database after ${sec(broker.caughtUpMs)} (${int(broker.rowsPerSec)} rows/s end to end, versus ${int(row.rowsPerSec)}${rr.projected ? ' (row by row, measured on the rows it loaded)' : ''} and ${int(batch.rowsPerSec)} rows/s direct).`,
  );
  const l = r.ingest.locked;
  const directDelta = l.direct.sourceReleaseMs - l.direct.baselineSourceReleaseMs;
  const brokerDelta = l.broker.sourceReleaseMs - l.broker.baselineSourceReleaseMs;
  out.push(
    `Locked database (${sec(l.lockHeldMs)}): the direct loader stalled ${sec(l.direct.stallMs)} and released its source ${relative(directDelta, l.lockHeldMs)} unlocked (${sec(l.direct.sourceReleaseMs)} vs ${sec(l.direct.baselineSourceReleaseMs)}); `
      + `via the broker the source was released ${relative(brokerDelta, l.lockHeldMs)} unlocked (${sec(l.broker.sourceReleaseMs)} vs ${sec(l.broker.baselineSourceReleaseMs)}, ${brokerDelta >= 0 ? '+' : '−'}${sec(Math.abs(brokerDelta))}), `
      + (l.broker.lockAtMs >= 0 && l.broker.lockAtMs < l.broker.sourceReleaseMs
        ? 'the producer kept going while the database was locked, '
        : 'the lock took hold only after the source was released, ')
      + (l.broker.caughtUpMs > l.broker.releasedAtMs
        ? `and the sink caught up ${sec(l.broker.catchUpAfterUnlockMs)} after the lock was released (${l.broker.sinkRetries} retried writes).`
        : `and the sink was not held up: every row was in the database after ${sec(l.broker.caughtUpMs)}, before the lock was released (${l.broker.sinkRetries} retried writes).`),
  );
  const a = r.analytics;
  out.push(
    `Analytics: the KafkaStreams application (1-second windowed aggregate) had each record in its aggregate p50 ${msf(a.consumer.p50Ms)} / p99 ${msf(a.consumer.p99Ms)} after its creation, `
      + `polling the database every ${a.poller.intervalMs} ms gave p50 ${msf(a.poller.p50Ms)} / p99 ${msf(a.poller.p99Ms)} `
      + `(${times(a.consumer.p50Ms, a.poller.p50Ms, 'faster', 'slower')} at p50 for the application); the application put ${a.consumer.dbQueries} queries on the database, the poller ${a.poller.dbQueries}.`,
  );
  const [b0, b3] = r.consumers.broker;
  const [d0, d3] = r.consumers.direct;
  out.push(
    `Many consumers (${int(r.consumers.rows)} rows${r.consumers.rows < r.setup.rows ? `, the first of ${int(r.setup.rows)}` : ''}): adding ${b3.extraGroups} consumer groups changed the producer's rate from ${int(b0.producerRowsPerSec)} to ${int(b3.producerRowsPerSec)} rows/s (${pct(b0.producerRowsPerSec, b3.producerRowsPerSec)}) `
      + `and the database's statements from ${int(b0.dbQueries)} to ${int(b3.dbQueries)} (the groups sent ${b3.readerQueries}); `
      + `directly, ${d3.readers} polling readers took the database from ${int(d0.dbQueries)} to ${int(d3.dbQueries)} statements (${int(d3.readerQueries)} from the readers, ${(d3.readerQueries / (d3.elapsedMs / 1000)).toFixed(1)} queries/s) `
      + `and the loader's rate from ${int(d0.loaderRowsPerSec)} to ${int(d3.loaderRowsPerSec)} rows/s (${pct(d0.loaderRowsPerSec, d3.loaderRowsPerSec)}).`,
  );
  return out;
}

interface Table {
  title: string;
  header: string[];
  rows: Array<Array<string | number>>;
  /** A sentence under the table (what in it is projected rather than measured). */
  note?: string | null;
  chart?: { label: string; unit: string; bars: Bar[] };
}

/** How the work was done: each has one colour, the same in every chart. */
export type Approach = 'broker' | 'direct' | 'direct-row-by-row';

export const APPROACH_COLORS: Record<Approach, { color: string; label: string }> = {
  broker: { color: '#4e79a7', label: 'via the broker' },
  direct: { color: '#f28e2b', label: 'directly against the database (batched, polled)' },
  'direct-row-by-row': { color: '#e15759', label: 'directly against the database, row by row' },
};

export interface Bar {
  name: string;
  value: number;
  approach: Approach;
}

function tables(r: ExperimentReport): Table[] {
  const [row, batch, broker] = r.ingest.variants;
  const rr = rowByRowRelease(row);
  const rowAll = row.projected === null ? sec(row.elapsedMs) : `${sec(row.projected.elapsedMs)} projected`;
  const l = r.ingest.locked;
  const a = r.analytics;
  const [b0, b3] = r.consumers.broker;
  const [d0, d3] = r.consumers.direct;
  return [
    {
      title: SECTION_TITLES.ingest,
      header: ['variant', 'rows', 'rows in db', 'rows/s into db', 'source released', 'all rows in db', 'db statements'],
      rows: [
        [rr.projected ? 'direct row-by-row (cut short, projected)' : 'direct row-by-row', int(row.rows), int(row.dbRows), int(row.rowsPerSec), rr.text, rowAll, int(row.statements)],
        ['direct batched', int(batch.rows), int(batch.dbRows), int(batch.rowsPerSec), sec(batch.sourceReleaseMs), sec(batch.elapsedMs), int(batch.statements)],
        ['via broker', int(broker.rows), int(broker.dbRows), int(broker.rowsPerSec), sec(broker.sourceReleaseMs), sec(broker.caughtUpMs), int(broker.statements)],
      ],
      note: rowByRowNote(row),
      chart: { label: 'Time until the source is released (shorter is better)', unit: 's', bars: [
        { name: rr.projected ? 'row-by-row (projected)' : 'direct row-by-row', value: rr.ms / 1000, approach: 'direct-row-by-row' },
        { name: 'direct batched', value: batch.sourceReleaseMs / 1000, approach: 'direct' },
        { name: 'via broker', value: broker.sourceReleaseMs / 1000, approach: 'broker' },
      ] },
    },
    {
      title: SECTION_TITLES.locked,
      // "no lock": the same variant's source release time in the unlocked run above, for comparison.
      header: ['variant', 'rows in db', 'source released', 'source released, no lock', 'stall', 'all rows in db', 'catch-up after unlock'],
      rows: [
        ['direct batched', int(l.direct.dbRows), sec(l.direct.sourceReleaseMs), sec(l.direct.baselineSourceReleaseMs), sec(l.direct.stallMs), sec(l.direct.elapsedMs), '-'],
        ['via broker', int(l.broker.dbRows), sec(l.broker.sourceReleaseMs), sec(l.broker.baselineSourceReleaseMs), '-', sec(l.broker.caughtUpMs), sec(l.broker.catchUpAfterUnlockMs)],
      ],
      chart: { label: `Time until the source is released, database locked ${sec(l.lockHeldMs)} (shorter is better)`, unit: 's', bars: [
        { name: 'direct batched', value: l.direct.sourceReleaseMs / 1000, approach: 'direct' },
        { name: 'via broker', value: l.broker.sourceReleaseMs / 1000, approach: 'broker' },
      ] },
    },
    {
      title: SECTION_TITLES.analytics,
      header: ['approach', 'records', 'time-to-insight p50', 'p99', 'max', 'analytics queries on db'],
      rows: [
        ['streaming (KafkaStreams)', int(a.consumer.count), msf(a.consumer.p50Ms), msf(a.consumer.p99Ms), msf(a.consumer.maxMs), int(a.consumer.dbQueries)],
        [`SQL poll every ${a.poller.intervalMs} ms`, int(a.poller.count), msf(a.poller.p50Ms), msf(a.poller.p99Ms), msf(a.poller.maxMs), int(a.poller.dbQueries)],
      ],
      chart: { label: 'Time-to-insight p99 (shorter is better)', unit: 'ms', bars: [
        { name: 'streaming (KafkaStreams)', value: a.consumer.p99Ms, approach: 'broker' },
        { name: 'SQL polling', value: a.poller.p99Ms, approach: 'direct' },
      ] },
    },
    {
      title: SECTION_TITLES.consumers,
      note: r.consumers.rows < r.setup.rows ? `On the first ${int(r.consumers.rows)} of the ${int(r.setup.rows)} rows (--consumers-rows).` : null,
      header: ['setup', 'readers', 'writer rows/s', 'db statements', 'from readers', 'reader queries/s'],
      rows: [
        ['via broker', `${b0.extraGroups} extra groups`, int(b0.producerRowsPerSec), int(b0.dbQueries), int(b0.readerQueries), '0'],
        ['via broker', `${b3.extraGroups} extra groups`, int(b3.producerRowsPerSec), int(b3.dbQueries), int(b3.readerQueries), '0'],
        ['direct', `${d0.readers} polling readers`, int(d0.loaderRowsPerSec), int(d0.dbQueries), int(d0.readerQueries), (d0.readerQueries / (d0.elapsedMs / 1000)).toFixed(1)],
        ['direct', `${d3.readers} polling readers`, int(d3.loaderRowsPerSec), int(d3.dbQueries), int(d3.readerQueries), (d3.readerQueries / (d3.elapsedMs / 1000)).toFixed(1)],
      ],
      chart: { label: 'Statements the database served (fewer is less load)', unit: '', bars: [
        { name: `broker, ${b0.extraGroups} groups`, value: b0.dbQueries, approach: 'broker' },
        { name: `broker, ${b3.extraGroups} groups`, value: b3.dbQueries, approach: 'broker' },
        { name: `direct, ${d0.readers} readers`, value: d0.dbQueries, approach: 'direct' },
        { name: `direct, ${d3.readers} readers`, value: d3.dbQueries, approach: 'direct' },
      ] },
    },
  ];
}

function setupRows(s: ExperimentSetup): Array<[string, string]> {
  return [
    ['rows', int(s.rows)],
    ['data', s.data],
    ['database', s.db],
    ['broker', s.broker],
    ['sink', s.sinkThread === 'worker' ? 'a worker thread of its own' : 'the main thread'],
    ['lock', `${s.lockMs} ms`],
    ['row-by-row bound', `${s.rowByRowMs > 0 ? `${s.rowByRowMs} ms` : 'no time budget'}, ${s.rowByRowRows > 0 ? `${int(s.rowByRowRows)} rows at most` : 'all rows'}`],
    ['analytics stream', `${s.analyticsRatePerSec}/s for up to ${s.analyticsDurationSec} s, polled every ${s.pollMs} ms`],
    ['machine', `${s.cores} cores, ${s.cpu}, ${s.memoryGiB} GiB`],
    ['node', `${s.node} on ${s.platform}`],
    ['tributary', s.tributary],
    ['started', s.startedAt],
    ['finished', s.finishedAt],
    ['duration', sec(s.durationMs)],
  ];
}

/** The table printed on stdout: every section's rows, then the conclusions. */
export function renderText(r: ExperimentReport): string {
  let out = '';
  for (const t of tables(r)) out += `\n${t.title}\n${formatTable(t.header, t.rows)}${t.note ? `${t.note}\n` : ''}`;
  out += `\n${SECTION_TITLES.conclusions}\n${r.conclusions.map((c) => `- ${c}`).join('\n')}\n`;
  return out;
}

const mdCell = (v: string | number): string => String(v).replace(/\|/g, '\\|');

export function renderMarkdown(r: ExperimentReport): string {
  const lines = [`# Tributary experiment: with and without a broker`, '', `${int(r.setup.rows)} rows, ${r.setup.db}, ${r.setup.broker}; ${r.setup.startedAt}.`, ''];
  lines.push(`## ${SECTION_TITLES.conclusions}`, '', ...r.conclusions.map((c) => `- ${c}`), '');
  for (const t of tables(r)) {
    lines.push(`## ${t.title}`, '', `| ${t.header.map(mdCell).join(' | ')} |`, `|${t.header.map(() => '---').join('|')}|`);
    for (const row of t.rows) lines.push(`| ${row.map(mdCell).join(' | ')} |`);
    lines.push('');
    if (t.note) lines.push(t.note, '');
  }
  lines.push(`## ${SECTION_TITLES.setup}`, '', '| | |', '|---|---|', ...setupRows(r.setup).map(([k, v]) => `| ${k} | ${mdCell(v)} |`), '');
  if (r.setup.notes.length > 0) lines.push(...r.setup.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

export const esc = (s: string | number): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/**
 * A horizontal bar chart as inline SVG. A bar's colour says its approach (APPROACH_COLORS, the same in every
 * chart); the legend under the bars names the approaches shown.
 */
export function barChart(label: string, unit: string, bars: Bar[]): string {
  const width = 640;
  const labelWidth = 170;
  const barHeight = 26;
  const top = 28;
  const max = Math.max(...bars.map((b) => b.value), 1e-9);
  const legendTop = top + bars.length * (barHeight + 8) + 6;
  const shown = (Object.keys(APPROACH_COLORS) as Approach[]).filter((k) => bars.some((b) => b.approach === k));
  const height = legendTop + shown.length * 20 + 4;
  const items = bars.map((b, i) => {
    const y = top + i * (barHeight + 8);
    const w = Math.max(1, ((width - labelWidth - 110) * b.value) / max);
    const text = unit === '' ? int(b.value) : `${b.value.toFixed(b.value < 10 ? 2 : 1)} ${unit}`;
    return `<text x="${labelWidth - 8}" y="${y + 17}" text-anchor="end">${esc(b.name)}</text>`
      + `<rect x="${labelWidth}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${APPROACH_COLORS[b.approach].color}" data-approach="${b.approach}"/>`
      + `<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 17}">${esc(text)}</text>`;
  });
  const legend = shown.map((k, i) => {
    const y = legendTop + i * 20;
    return `<rect x="${labelWidth}" y="${y}" width="12" height="12" fill="${APPROACH_COLORS[k].color}"/>`
      + `<text x="${labelWidth + 18}" y="${y + 11}">${esc(APPROACH_COLORS[k].label)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" font-family="sans-serif" font-size="13">`
    + `<text x="0" y="16" font-weight="bold">${esc(label)}</text>${items.join('')}<g class="legend">${legend.join('')}</g></svg>`;
}

/** One line of a lineChart: points are [x, y]; a null y leaves a gap (nothing was measured then). */
export interface LineSeries {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
}

/** The colours lines take in order: the same palette as APPROACH_COLORS, so both kinds of chart look alike. */
export const SERIES_COLORS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948'] as const;

/** 1, 2 or 5 times a power of ten: the tick step that gives about `count` ticks up to `max`. */
function niceStep(max: number, count: number): number {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
}

/**
 * A line chart over a shared x axis (a time series) as inline SVG: y from 0 (a drift shows as a slope, not as a
 * zoomed-in wiggle), gridlines at round values, and a legend under the plot naming each line.
 */
export function lineChart(label: string, unit: string, xUnit: string, series: LineSeries[]): string {
  const width = 720;
  const left = 64;
  const right = 16;
  const top = 28;
  const plotHeight = 200;
  const plotWidth = width - left - right;
  const xs = series.flatMap((s) => s.points.map(([x]) => x));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y).filter((y): y is number => y !== null && Number.isFinite(y)));
  const xMax = Math.max(...xs, 1e-9);
  const yStep = niceStep(Math.max(...ys, 1e-9) * 1.05, 5);
  const yMax = yStep * Math.ceil((Math.max(...ys, 1e-9) * 1.05) / yStep);
  const xStep = niceStep(xMax, 8);
  const px = (x: number): string => (left + (plotWidth * x) / xMax).toFixed(1);
  const py = (y: number): string => (top + plotHeight - (plotHeight * y) / yMax).toFixed(1);
  const tickText = (v: number): string => (yStep < 1 ? v.toFixed(Math.min(3, Math.ceil(-Math.log10(yStep)))) : int(v));
  const grid: string[] = [];
  for (let y = 0; y <= yMax + yStep / 2; y += yStep) {
    grid.push(`<line x1="${left}" x2="${width - right}" y1="${py(y)}" y2="${py(y)}" stroke="#ddd"/>`
      + `<text x="${left - 6}" y="${(Number(py(y)) + 4).toFixed(1)}" text-anchor="end">${esc(tickText(y))}</text>`);
  }
  for (let x = 0; x <= xMax + xStep / 2; x += xStep) {
    grid.push(`<text x="${px(x)}" y="${top + plotHeight + 16}" text-anchor="middle">${esc(int(x))}</text>`);
  }
  // A null y splits a line into separate runs rather than drawing through the gap.
  const lines = series.map((s) => {
    const runs: string[][] = [[]];
    for (const [x, y] of s.points) {
      if (y === null || !Number.isFinite(y)) runs.push([]);
      else runs[runs.length - 1].push(`${px(x)},${py(y)}`);
    }
    return runs.filter((r) => r.length > 0).map((r) => r.length === 1
      ? `<circle cx="${r[0].split(',')[0]}" cy="${r[0].split(',')[1]}" r="2" fill="${s.color}"/>`
      : `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${r.join(' ')}" data-series="${esc(s.name)}"/>`).join('');
  });
  const legendTop = top + plotHeight + 44;
  const legend = series.map((s, i) => {
    const y = legendTop + i * 20;
    return `<rect x="${left}" y="${y}" width="12" height="12" fill="${s.color}"/><text x="${left + 18}" y="${y + 11}">${esc(s.name)}</text>`;
  });
  const height = legendTop + series.length * 20 + 4;
  const axes = `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotHeight}" stroke="#888"/>`
    + `<line x1="${left}" x2="${width - right}" y1="${top + plotHeight}" y2="${top + plotHeight}" stroke="#888"/>`
    + `<text x="${left + plotWidth / 2}" y="${top + plotHeight + 32}" text-anchor="middle">${esc(xUnit)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(label)}" font-family="sans-serif" font-size="12">`
    + `<text x="0" y="16" font-weight="bold" font-size="13">${esc(unit === '' ? label : `${label} (${unit})`)}</text>${grid.join('')}${axes}${lines.join('')}`
    + `<g class="legend">${legend.join('')}</g></svg>`;
}

/** The stylesheet of the reports: plain tables and sections, readable without any other file. */
export const REPORT_CSS = `body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}table{border-collapse:collapse;margin:.5rem 0 1rem}
th,td{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}th{background:#f3f3f3}section{margin-bottom:2rem}li{margin:.4rem 0}`;

export function renderHtml(r: ExperimentReport): string {
  const section = (t: Table): string =>
    `<section><h2>${esc(t.title)}</h2>\n<table><thead><tr>${t.header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>`
    + t.rows.map((row) => `<tr>${row.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')
    + `</tbody></table>\n${t.note ? `<p class="note">${esc(t.note)}</p>\n` : ''}${t.chart ? barChart(t.chart.label, t.chart.unit, t.chart.bars) : ''}</section>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tributary experiment: with and without a broker</title>
<style>${REPORT_CSS}</style></head>
<body><h1>Tributary experiment: with and without a broker</h1>
<p>${esc(int(r.setup.rows))} rows, ${esc(r.setup.db)}, ${esc(r.setup.broker)}; ${esc(r.setup.startedAt)}.</p>
<section><h2>${SECTION_TITLES.conclusions}</h2><ul>${r.conclusions.map((c) => `<li>${esc(c)}</li>`).join('')}</ul></section>
${tables(r).map(section).join('\n')}
<section><h2>${SECTION_TITLES.setup}</h2><table><tbody>${setupRows(r.setup).map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>
<ul>${r.setup.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></section>
</body></html>
`;
}
