/**
 * The console's HTTP API as the web app sees it (docs: the server's routes in src/console). Every mutation
 * carries `X-Tributary-Console: 1` (the server's CSRF guard) and a JSON body.
 */
import { useEffect, useState, useCallback, useRef } from 'preact/hooks';

export interface Session { readOnly: boolean; loginRequired: boolean; authenticated: boolean; user?: string; bootstrap: string; metrics: boolean; version: string }
export interface BrokerRef { nodeId: number; host: string; port: number; rack: string | null }
export interface Overview {
  clusterId: string; controllerId: number; brokers: BrokerRef[]; topicCount: number; partitionCount: number;
  underReplicatedPartitions: number; offlinePartitions: number; groupCount: number; totalSizeBytes: number; totalMessages: number;
}
export interface Broker extends BrokerRef { isController: boolean; sizeBytes: number }
export interface ConfigEntry { name: string; value: string | null; source: string; readOnly: boolean; sensitive: boolean }
export interface TopicRow { name: string; internal: boolean; partitions: number; replicationFactor: number; sizeBytes: number; messages: number; underReplicated: number }
export interface PartitionInfo { partition: number; leader: number; replicas: number[]; isr: number[]; startOffset: number; endOffset: number; sizeBytes: number }
export interface TopicDetail { name: string; internal: boolean; partitions: PartitionInfo[]; configs: ConfigEntry[]; consumers: { groupId: string; state: string; lag: number }[] }
export interface Header { key: string; value: string | null }
export interface Message {
  partition: number; offset: number; timestamp: number; key: string | null; value: string | null; headers: Header[];
  keyBase64?: true; valueBase64?: true;
}
export interface GroupRow { groupId: string; state: string; type: string; protocol: string; members: number; topics: string[]; lag: number }
export interface GroupDetail {
  groupId: string; state: string; type: string; protocol: string; protocolType: string; coordinator: number;
  members: { memberId: string; clientId: string; host: string; assignments: { topic: string; partitions: number[] }[] }[];
  offsets: { topic: string; partition: number; committed: number | null; end: number; lag: number | null }[];
}
export interface LagPoint { time: number; lag: { topic: string; partition: number; lag: number }[] }
export interface Acl { resourceType: string; resourceName: string; patternType: string; principal: string; host: string; operation: string; permissionType: string }
export interface ScramUser { user: string; mechanisms: { mechanism: string; iterations: number }[] }
export interface Quota { entity: { type: string; name: string | null }[]; values: Record<string, number> }
export interface Report { name: string; path: string }
export interface SourceRow { pipeline: string; input: string; position: number; eof: boolean; updated: number }
export interface SinkRow { pipeline: string; groupId: string; state: string; topics: string[]; lag: number; members: number }
export interface Pipelines { sources: SourceRow[]; sinks: SinkRow[]; sourcesPartial?: true }
export interface StreamsApp {
  applicationId: string; clientId: string; instance: string; startTime: number; updateTime: number; state: string;
  groupState: string; members: number; lag: number; description: string;
}
export interface StreamsApps { apps: StreamsApp[]; partial?: true }
export interface Tick {
  time: number; topics: { name: string; messagesPerSec: number; bytesInPerSec?: number }[]; groups: { groupId: string; lag: number }[]; brokers: number;
  metrics?: { bytesInPerSec: number; bytesOutPerSec: number; messagesInPerSec: number; requestsPerSec: number; produceP99Ms: number; fetchP99Ms: number };
}

/** An API answer that was not 2xx: the server's message and, when Kafka answered, its error name. */
export class ApiError extends Error {
  constructor(message: string, readonly status: number, readonly code?: string) { super(message); }
}

/** Called when any request answers 401, so the app can show the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void { onUnauthorized = fn; }

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') { headers['X-Tributary-Console'] = '1'; headers['Content-Type'] = 'application/json'; }
  const res = await fetch(path, { method, headers, body: method === 'GET' ? undefined : JSON.stringify(body ?? {}), credentials: 'same-origin' });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  try { data = text ? JSON.parse(text) : undefined; } catch { data = undefined; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    throw new ApiError(data?.error ?? `${res.status} ${res.statusText}`, res.status, data?.code);
  }
  return data as T;
}

export const get = <T,>(path: string) => request<T>('GET', path);
export const post = <T,>(path: string, body: unknown) => request<T>('POST', path, body);
export const put = <T,>(path: string, body: unknown) => request<T>('PUT', path, body);
export const del = <T,>(path: string, body?: unknown) => request<T>('DELETE', path, body);
export const enc = encodeURIComponent;

export interface Loaded<T> { data: T | undefined; error: ApiError | undefined; loading: boolean; reload: () => void }

/** GET `path` on mount and whenever `path` changes; `reload()` fetches again, keeping the old data meanwhile. */
export function useApi<T>(path: string | null): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: ApiError; loading: boolean }>({ loading: path !== null });
  const [version, setVersion] = useState(0);
  useEffect(() => {
    if (path === null) return;
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    get<T>(path).then(
      (data) => { if (live) setState({ data, loading: false }); },
      (error: unknown) => { if (live) setState((s) => ({ data: s.data, error: toApiError(error), loading: false })); },
    );
    return () => { live = false; };
  }, [path, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function toApiError(e: unknown): ApiError {
  return e instanceof ApiError ? e : new ApiError(e instanceof Error ? e.message : String(e), 0);
}

/** One shared /api/events stream for the whole app: `history` first, then a `tick` a second. */
type TickListener = (ticks: Tick[], reset: boolean) => void;
const tickListeners = new Set<TickListener>();
let events: EventSource | undefined;
let ticks: Tick[] = [];
const TICKS_KEPT = 600;

function ensureEvents(): void {
  if (events) return;
  events = new EventSource('/api/events');
  events.addEventListener('history', (e) => {
    try { ticks = (JSON.parse((e as MessageEvent).data) as Tick[]).slice(-TICKS_KEPT); } catch { return; }
    for (const l of tickListeners) l(ticks, true);
  });
  events.addEventListener('tick', (e) => {
    let tick: Tick;
    try { tick = JSON.parse((e as MessageEvent).data) as Tick; } catch { return; }
    ticks = ticks.length >= TICKS_KEPT ? [...ticks.slice(1), tick] : [...ticks, tick];
    for (const l of tickListeners) l(ticks, false);
  });
}

/** The ticks kept so far (up to 10 minutes), updated live. */
export function useTicks(): Tick[] {
  const [state, setState] = useState<Tick[]>(ticks);
  useEffect(() => {
    ensureEvents();
    const l: TickListener = (t) => setState(t);
    tickListeners.add(l);
    setState(ticks);
    return () => { tickListeners.delete(l); };
  }, []);
  return state;
}

/** Calls `fn` on each tick (not on history). */
export function useOnTick(fn: (t: Tick) => void): void {
  const ref = useRef(fn);
  ref.current = fn;
  useEffect(() => {
    ensureEvents();
    const l: TickListener = (t, reset) => { if (!reset && t.length > 0) ref.current(t[t.length - 1]!); };
    tickListeners.add(l);
    return () => { tickListeners.delete(l); };
  }, []);
}
