/** The console's request routing: `/api/topics/:name`-style patterns, one handler per method and path. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ConsoleKafka } from './kafka.js';
import type { EventHub } from './events.js';

/** What every route can reach. */
export interface ConsoleApp {
  readonly kafka: ConsoleKafka;
  readonly events: EventHub;
  readonly readOnly: boolean;
  readonly loginRequired: boolean;
  readonly bootstrap: string;
  readonly metricsUrl: string | undefined;
  readonly reportsDir: string | undefined;
  readonly version: string;
  /** Open SSE responses and their cleanup (tails, event listeners), ended by close(). */
  readonly streams: Set<() => void>;
}

export interface Ctx {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: Record<string, string>;
  readonly query: URLSearchParams;
  readonly app: ConsoleApp;
  /** The logged-in user (null without a login or before one). */
  readonly user: string | null;
  readonly authenticated: boolean;
  /** The JSON body (capped, parsed once). */
  body(): Promise<unknown>;
}

export type Handler = (ctx: Ctx) => Promise<void>;

interface Route {
  method: string;
  parts: string[];
  handler: Handler;
}

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /** The handler for a method and path, 'method' when the path exists under another method, or null. */
  match(method: string, path: string): { handler: Handler; params: Record<string, string> } | 'method' | null {
    const segs = path.split('/').filter(Boolean);
    let pathKnown = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length && ok; i++) {
        const p = r.parts[i]!;
        if (p.startsWith(':')) {
          try {
            params[p.slice(1)] = decodeURIComponent(segs[i]!);
          } catch {
            ok = false;
          }
        } else ok = p === segs[i];
      }
      if (!ok) continue;
      if (r.method === method) return { handler: r.handler, params };
      pathKnown = true;
    }
    return pathKnown ? 'method' : null;
  }
}
