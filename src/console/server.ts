/**
 * The web console's server: node:http only, a JSON API under /api (routes-*.ts), server-sent events for live
 * views, and the web app's static files (dist/console-web/). It reaches the cluster only through the client
 * library (Admin, Producer, Consumer), so it serves Apache Kafka as well as Tributary.
 *
 * Safe by default: binds 127.0.0.1 (and then answers only Host names of this machine, against DNS rebinding);
 * every mutation (POST/PUT/DELETE) must carry `X-Tributary-Console: 1`, which a cross-site form or image cannot
 * send; read-only mode refuses every mutation; an optional login (sessions in HttpOnly SameSite=Strict cookies);
 * every response carries a CSP, X-Frame-Options DENY and nosniff; request bodies are capped at 1 MiB.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { ClientOptions } from '../client/cluster.js';
import { Sessions, type LoginCredentials } from './auth.js';
import { EventHub } from './events.js';
import { asObject, HttpError, readJson, sendError, sendJson, sendNoContent, setSecurityHeaders, str } from './http.js';
import { ConsoleKafka } from './kafka.js';
import { registerClusterRoutes } from './routes-cluster.js';
import { registerGroupRoutes } from './routes-groups.js';
import { registerMessageRoutes } from './routes-messages.js';
import { registerPipelineRoutes } from './routes-pipelines.js';
import { registerSecurityRoutes } from './routes-security.js';
import { registerTopicRoutes } from './routes-topics.js';
import { registerStreamsRoutes } from './routes-streams.js';
import { Router, type ConsoleApp, type Ctx } from './router.js';
import { StaticFiles } from './static.js';
import { packageVersion } from '../util/package-version.js';

export const DEFAULT_CONSOLE_PORT = 9021;
export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
/** The header every mutation must carry (the CSRF guard). */
export const CSRF_HEADER = 'x-tributary-console';

export interface ConsoleOptions {
  /** How to reach the cluster: bootstrap servers plus TLS/SASL, as for any client. */
  client: ClientOptions;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9021; 0 picks a free port. */
  port?: number;
  /** Refuse every change (403). */
  readOnly?: boolean;
  /** The broker's Prometheus endpoint (e.g. http://127.0.0.1:9404/metrics), for throughput/latency charts. */
  metricsUrl?: string;
  /** A folder of experiment reports (`<name>.html` or `<name>/report.html`) listed at /api/reports. */
  reportsDir?: string;
  /** Users and passwords; without it no login is asked. */
  login?: LoginCredentials;
  sessionTtlMs?: number;
  /** The web app's folder; default dist/console-web next to the compiled server. */
  assetsDir?: string;
  /** Live tick interval, default 1000 ms; history kept, default 10 minutes. */
  tickIntervalMs?: number;
  historyMs?: number;
  /** Serve HTTPS with this PEM certificate (chain) and private key; session cookies are then `Secure`. */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface RunningConsole {
  /** e.g. http://127.0.0.1:9021/ */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

const FAILED_LOGIN_DELAY_MS = 250;
const MUTATIONS = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);
/** Reachable without a session (the app asks who it is, then logs in). */
const OPEN_ROUTES = new Set(['/api/session', '/api/login', '/api/logout']);
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);


const bootstrapText = (b: string | string[]): string => (Array.isArray(b) ? b.join(',') : b);

/** The Host header's name without the port ('[::1]:9021' → '::1'). */
function hostName(header: string | undefined): string {
  if (!header) return '';
  if (header.startsWith('[')) return header.slice(1, header.indexOf(']'));
  const i = header.lastIndexOf(':');
  return (i >= 0 ? header.slice(0, i) : header).toLowerCase();
}

export async function startConsole(opts: ConsoleOptions): Promise<RunningConsole> {
  const host = opts.host ?? DEFAULT_CONSOLE_HOST;
  const kafka = new ConsoleKafka(opts.client);
  const events = new EventHub(kafka, { intervalMs: opts.tickIntervalMs, historyMs: opts.historyMs, metricsUrl: opts.metricsUrl });
  const sessions = opts.login && opts.login.size > 0 ? new Sessions(opts.login, opts.sessionTtlMs, opts.tls !== undefined) : null;
  const assets = new StaticFiles(opts.assetsDir ?? fileURLToPath(new URL('../../console-web/', import.meta.url)));
  const app: ConsoleApp = {
    kafka, events, readOnly: opts.readOnly ?? false, loginRequired: sessions !== null, bootstrap: bootstrapText(opts.client.bootstrapServers),
    metricsUrl: opts.metricsUrl, reportsDir: opts.reportsDir, version: packageVersion(), streams: new Set(),
  };
  const loopbackOnly = LOOPBACK.has(host);

  const router = new Router();
  registerClusterRoutes(router);
  registerTopicRoutes(router);
  registerMessageRoutes(router);
  registerGroupRoutes(router);
  registerPipelineRoutes(router);
  registerStreamsRoutes(router);
  registerSecurityRoutes(router);
  router.add('GET', '/api/events', async ({ app: a, res }) => a.events.subscribe(res));
  router.add('POST', '/api/login', async ({ req, res, body }) => {
    if (!sessions) throw new HttpError(400, 'this console has no login configured');
    const b = asObject(await body());
    const user = str(b, 'username');
    const password = typeof b.password === 'string' ? b.password : '';
    if (!sessions.check(user, password)) {
      // A pause before each refusal slows password guessing.
      await new Promise((r) => setTimeout(r, FAILED_LOGIN_DELAY_MS));
      throw new HttpError(401, 'wrong username or password');
    }
    sessions.destroy(req);
    res.setHeader('Set-Cookie', sessions.setCookie(sessions.create(user)));
    sendNoContent(res);
  });
  router.add('POST', '/api/logout', async ({ req, res }) => {
    if (sessions) {
      sessions.destroy(req);
      res.setHeader('Set-Cookie', Sessions.clearCookie());
    }
    sendNoContent(res);
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res);
    // Bound to loopback: only this machine's names, so a page on another site cannot reach it by DNS rebinding.
    if (loopbackOnly && !LOOPBACK.has(hostName(req.headers.host))) {
      sendJson(res, 421, { error: `the console answers only requests for localhost, not "${req.headers.host ?? ''}"` });
      return;
    }
    const method = req.method ?? 'GET';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console.invalid');
    } catch {
      sendJson(res, 400, { error: 'malformed URL' });
      return;
    }
    const path = url.pathname;
    if (path !== '/api' && !path.startsWith('/api/')) {
      if (method !== 'GET' && method !== 'HEAD') {
        res.writeHead(405, { Allow: 'GET, HEAD' });
        res.end();
        return;
      }
      // The path as sent (URL parsing would quietly resolve '..' segments, which are refused instead).
      await assets.serve(req, res, (req.url ?? '/').split('?')[0]!.split('#')[0]!);
      return;
    }
    const found = router.match(method, path);
    if (found === null) throw new HttpError(404, `no API route ${path}`);
    if (found === 'method') throw new HttpError(405, `${method} is not allowed on ${path}`);
    const mutation = MUTATIONS.has(method);
    if (mutation && req.headers[CSRF_HEADER] !== '1') {
      throw new HttpError(403, 'changes need the X-Tributary-Console: 1 header (a guard against cross-site requests)');
    }
    const user = sessions ? sessions.user(req) : null;
    const open = OPEN_ROUTES.has(path);
    if (sessions && user === null && !open) throw new HttpError(401, 'log in first');
    if (app.readOnly && mutation && !open) throw new HttpError(403, 'the console is read-only');
    let parsed: Promise<unknown> | null = null;
    const ctx: Ctx = {
      req, res, params: found.params, query: url.searchParams, app, user, authenticated: sessions === null || user !== null,
      body: () => (parsed ??= readJson(req)),
    };
    await found.handler(ctx);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    // Over HTTPS, browsers are told to keep using it.
    if (opts.tls) res.setHeader('Strict-Transport-Security', 'max-age=31536000');
    handle(req, res).catch((err: unknown) => {
      // Drain what is left of a refused body, so the answer reaches the client; then close that connection.
      if (!req.complete) res.setHeader('Connection', 'close');
      sendError(res, err);
      if (!req.complete) req.resume();
    });
  };
  const server: Server = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener) : createServer(listener);
  server.headersTimeout = 10_000;
  server.requestTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_CONSOLE_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
  let closing: Promise<void> | null = null;
  return {
    url, host, port,
    close: () => (closing ??= (async () => {
      events.close();
      for (const stop of [...app.streams]) stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await kafka.close();
    })()),
  };
}
