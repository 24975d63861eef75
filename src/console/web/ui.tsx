/** Small shared pieces: formatting, dialogs, tabs, charts, error boxes. */
import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import type { ApiError, Session } from './api';

export const SessionContext = createContext<Session>({ readOnly: true, loginRequired: false, authenticated: false, bootstrap: '', metrics: false, version: '' });
export const useSession = () => useContext(SessionContext);

/** A page: the <main> landmark (focused on navigation), its title and optional actions beside it. */
export function PageMain({ title, actions, children, crumbs }: { title: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren; crumbs?: [string, string][] }) {
  return (
    <main id="main" tabIndex={-1}>
      {crumbs ? <nav class="crumbs" aria-label="Breadcrumb">{crumbs.map(([h, l]) => <span key={h}><a href={h}>{l}</a> / </span>)}</nav> : null}
      <div class="page-head">
        <h1 tabIndex={-1}>{title}</h1>
        {actions ? <div class="page-actions">{actions}</div> : null}
      </div>
      {children}
    </main>
  );
}

export function fmtBytes(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (Math.abs(v) >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function fmtNum(n: number | undefined | null): string {
  if (n === undefined || n === null || !Number.isFinite(n)) return '–';
  return n.toLocaleString('en-US');
}

export function fmtRate(n: number): string {
  if (n >= 1000) return `${(n / 1000).toFixed(1)}k`;
  return n >= 10 ? n.toFixed(0) : n.toFixed(1);
}

export function fmtTime(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '–';
  const d = new Date(ms);
  const p = (x: number, w = 2) => String(x).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const clock = (sec: number) => { const d = new Date(sec * 1000); return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}:${String(d.getSeconds()).padStart(2, '0')}`; };

export const href = (...parts: string[]) => '#/' + parts.map(encodeURIComponent).join('/');

export function ErrorBox({ error }: { error: ApiError | Error | string | undefined | null }) {
  if (!error) return null;
  const msg = typeof error === 'string' ? error : error.message;
  const code = typeof error === 'object' && 'code' in error ? (error as ApiError).code : undefined;
  return <div class="error" role="alert">{code ? <strong>{code}: </strong> : null}{msg}</div>;
}

export function Badge({ kind, children }: { kind: 'ok' | 'warn' | 'bad' | 'info' | 'muted'; children: ComponentChildren }) {
  return <span class={`badge badge-${kind}`}>{children}</span>;
}

export function stateBadge(state: string) {
  const s = state.toLowerCase();
  const kind = s === 'stable' ? 'ok' : s === 'empty' ? 'muted' : s === 'dead' ? 'bad' : 'warn';
  return <Badge kind={kind}>{state}</Badge>;
}

/** A modal built on <dialog>: focus is trapped by the browser, Esc closes it. */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
    return () => { if (d?.open) d.close(); };
  }, []);
  return (
    <dialog ref={ref} class={wide ? 'wide' : ''} aria-label={title} onCancel={(e) => { e.preventDefault(); onClose(); }}>
      <header class="dialog-head">
        <h2>{title}</h2>
        <button type="button" class="icon" aria-label="Close" onClick={onClose}>×</button>
      </header>
      {children}
    </dialog>
  );
}

/** Deletion confirmed by typing the name, as Kafbat UI and Redpanda Console do for topics. */
export function ConfirmDelete({ what, name, onClose, onConfirm }: { what: string; name: string; onClose: () => void; onConfirm: () => Promise<void> }) {
  const [typed, setTyped] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    if (typed !== name) return;
    setBusy(true);
    try { await onConfirm(); onClose(); } catch (err) { setError(err as Error); setBusy(false); }
  };
  return (
    <Dialog title={`Delete ${what}`} onClose={onClose}>
      <form onSubmit={submit}>
        <p>This deletes {what} <strong>{name}</strong> and cannot be undone. Type its name to confirm.</p>
        <label>Name<input value={typed} onInput={(e) => setTyped(e.currentTarget.value)} autoFocus autoComplete="off" /></label>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="danger" disabled={typed !== name || busy}>Delete</button>
        </div>
      </form>
    </Dialog>
  );
}

export function Tabs({ tabs, current, base }: { tabs: [string, string][]; current: string; base: string }) {
  return (
    <nav class="tabs" aria-label="Sections">
      {tabs.map(([id, label]) => (
        <a key={id} href={`${base}/${id}`} class={id === current ? 'active' : ''} aria-current={id === current ? 'page' : undefined}>{label}</a>
      ))}
    </nav>
  );
}

export function Stat({ label, value, children }: { label: string; value: ComponentChildren; children?: ComponentChildren }) {
  return <div class="stat"><div class="stat-label">{label}</div><div class="stat-value">{value}</div>{children}</div>;
}

/** A table whose body keeps a minimum height while loading, so the page does not jump. */
export interface SortState { col: number; desc: boolean }

/** Sorting for a list page: which column, which way, and a comparator from column index to value. */
export function useSort<T>(initial: SortState, keyOf: (row: T, col: number) => string | number) {
  const [sort, setSort] = useState<SortState>(initial);
  const apply = (rows: T[]) => [...rows].sort((a, b) => {
    const x = keyOf(a, sort.col);
    const y = keyOf(b, sort.col);
    const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
    return sort.desc ? -c : c;
  });
  const toggle = (col: number) => setSort((s) => (s.col === col ? { col, desc: !s.desc } : { col, desc: false }));
  return { sort, apply, toggle };
}

/**
 * A table whose body keeps a minimum height while loading, so the page does not jump. With `sort`, the headers of
 * the `sortable` columns are buttons (keyboard reachable) and carry aria-sort.
 */
export function Table({ head, children, loading, empty, emptyText, label, num = [], sort, sortable = [], onSort }: {
  head: ComponentChildren[]; children: ComponentChildren; loading?: boolean; empty?: boolean; emptyText?: ComponentChildren; label: string; num?: number[];
  sort?: SortState; sortable?: number[]; onSort?: (col: number) => void;
}) {
  const cell = (h: ComponentChildren, i: number) => {
    if (h === '') return <span class="sr-only">Actions</span>;
    if (!onSort || !sortable.includes(i)) return h;
    const mark = sort?.col === i ? (sort.desc ? ' ▼' : ' ▲') : '';
    return <button type="button" class="sort" onClick={() => onSort(i)}>{h}<span aria-hidden="true">{mark}</span></button>;
  };
  return (
    <div class="table-wrap" aria-busy={loading ? 'true' : 'false'}>
      <table aria-label={label}>
        <thead><tr>{head.map((h, i) => (
          <th key={i} scope="col" class={num.includes(i) ? 'num' : undefined}
            aria-sort={sort && sortable.includes(i) ? (sort.col === i ? (sort.desc ? 'descending' : 'ascending') : 'none') : undefined}>{cell(h, i)}</th>
        ))}</tr></thead>
        <tbody>{children}</tbody>
      </table>
      {loading && empty ? <p class="placeholder">Loading…</p> : empty ? <p class="placeholder">{emptyText ?? 'Nothing here yet.'}</p> : null}
    </div>
  );
}

export interface Series { label: string; color: string }
const PALETTE = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#db2777', '#65a30d'];
export const color = (i: number) => PALETTE[i % PALETTE.length]!;

/**
 * A uPlot time-series chart at a fixed height (the space is reserved before data comes, so nothing jumps).
 * `data` is [times in seconds, ...one array per series].
 */
export function Chart({ title, series, data, height = 180, unit }: { title: string; series: Series[]; data: number[][]; height?: number; unit?: string }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label).join('\u0000');
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [{ values: (_u, vals) => vals.map(clock), space: 72, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] }, { size: unit ? 72 : 56, values: (_u, vals) => vals.map((v) => (unit ? `${fmtRate(v)} ${unit}` : fmtRate(v))) }],
      series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, points: { show: false } }))],
    };
    const u = new uPlot(opts, data as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => { ro.disconnect(); u.destroy(); plot.current = null; };
  }, [key, height]);
  useEffect(() => { plot.current?.setData(data as uPlot.AlignedData); }, [data]);
  const waiting = (data[0]?.length ?? 0) < 2;
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div class="chart-frame">
        <div ref={box} class={waiting ? 'chart-box waiting' : 'chart-box'} style={{ minHeight: `${height + 34}px` }} role="img" aria-label={`${title} chart`} />
        {waiting ? <p class="chart-wait">Waiting for data…</p> : null}
      </div>
    </figure>
  );
}

