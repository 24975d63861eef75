/** HTTP helpers for the console tests: JSON calls with the CSRF header, and a server-sent events reader. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ApiAnswer {
  status: number;
  headers: Headers;
  json: any;
}

export function apiClient(base: string, defaults: { cookie?: string } = {}) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> => {
    const h: Record<string, string> = { ...(method === 'GET' ? {} : { 'X-Tributary-Console': '1' }), ...(defaults.cookie ? { Cookie: defaults.cookie } : {}), ...headers };
    if (body !== undefined) h['Content-Type'] = 'application/json';
    const res = await fetch(new URL(path, base), { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, json: text === '' ? null : JSON.parse(text) };
  };
}

export interface SseEvent {
  event: string;
  data: any;
}

/** Opens an event stream; `next(pred)` resolves with the first later event matching (or rejects after timeoutMs). */
export async function openSse(url: string, headers: Record<string, string> = {}) {
  const ac = new AbortController();
  const res = await fetch(url, { headers, signal: ac.signal });
  if (res.status !== 200) {
    const text = await res.text();
    throw new Error(`SSE ${url}: ${res.status} ${text}`);
  }
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  const read = async (): Promise<SseEvent | null> => {
    for (;;) {
      const sep = buf.indexOf('\n\n');
      if (sep >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) event = line.slice(7);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length === 0) continue;
        return { event, data: JSON.parse(data.join('\n')) };
      }
      const { value, done } = await reader.read();
      if (done) return null;
      buf += decoder.decode(value, { stream: true });
    }
  };
  return {
    response: res,
    async next(pred: (e: SseEvent) => boolean = () => true, timeoutMs = 8000): Promise<SseEvent> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const e = await Promise.race([read(), new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), Math.max(0, deadline - Date.now())).unref())]);
        if (e === 'timeout') throw new Error(`no matching event on ${url} within ${timeoutMs} ms`);
        if (e === null) throw new Error(`the stream ${url} ended`);
        if (pred(e)) return e;
        if (Date.now() > deadline) throw new Error(`no matching event on ${url} within ${timeoutMs} ms`);
      }
    },
    close(): void {
      ac.abort();
    },
  };
}

/** A stand-in for the built web app: index.html, app.js (big enough to be compressed) and app.css. */
export async function fakeAssets(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-console-web-'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>Tributary</title><script type="module" src="/app.js"></script>\n');
  await writeFile(join(dir, 'app.js'), `console.log(${JSON.stringify('x'.repeat(4000))});\n`);
  await writeFile(join(dir, 'app.css'), 'body { margin: 0 }\n');
  return dir;
}
