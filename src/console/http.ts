/**
 * The console's HTTP plumbing (node:http, no framework): JSON bodies read with a size cap, JSON and error
 * answers, the security headers every response carries, and the mapping from the client's errors (Kafka error
 * names) to HTTP status codes. Routes live in routes-*.ts; server.ts wires them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { KafkaError, TributaryError } from '../errors.js';

/** Request bodies larger than this are refused with 413 (a produced message, an ACL: all far smaller). */
export const MAX_BODY_BYTES = 1024 * 1024;

/** An answer other than 200 decided by a route: the status, a message and optionally a Kafka error name. */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly code?: string) {
    super(message);
  }
}

/**
 * Content Security Policy: scripts, styles, fonts, images and connections from this origin only; no framing,
 * no plugins. Inline styles are allowed (charting and component libraries set style attributes); inline scripts
 * are not.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

/** The headers every response carries. */
export function setSecurityHeaders(res: ServerResponse, csp = CONTENT_SECURITY_POLICY): void {
  res.setHeader('Content-Security-Policy', csp);
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

export function sendNoContent(res: ServerResponse): void {
  res.writeHead(204, { 'Cache-Control': 'no-store' });
  res.end();
}

/** Kafka error names and the HTTP status they become; anything else from the broker is a 500 carrying its name. */
const STATUS_BY_KAFKA_ERROR: Record<string, number> = {
  UNKNOWN_TOPIC_OR_PARTITION: 404, UNKNOWN_TOPIC_ID: 404, GROUP_ID_NOT_FOUND: 404, RESOURCE_NOT_FOUND: 404,
  TOPIC_ALREADY_EXISTS: 409, NON_EMPTY_GROUP: 409, UNKNOWN_MEMBER_ID: 409, ILLEGAL_GENERATION: 409, REBALANCE_IN_PROGRESS: 409,
  GROUP_SUBSCRIBED_TO_TOPIC: 409, DUPLICATE_RESOURCE: 409, CONCURRENT_TRANSACTIONS: 409,
  TOPIC_AUTHORIZATION_FAILED: 403, GROUP_AUTHORIZATION_FAILED: 403, CLUSTER_AUTHORIZATION_FAILED: 403,
  TRANSACTIONAL_ID_AUTHORIZATION_FAILED: 403, DELEGATION_TOKEN_AUTHORIZATION_FAILED: 403, SASL_AUTHENTICATION_FAILED: 403,
  SECURITY_DISABLED: 400, INVALID_TOPIC_EXCEPTION: 400, INVALID_PARTITIONS: 400, INVALID_REPLICATION_FACTOR: 400,
  INVALID_REPLICA_ASSIGNMENT: 400, INVALID_CONFIG: 400, INVALID_REQUEST: 400, POLICY_VIOLATION: 400, INVALID_GROUP_ID: 400,
  UNSUPPORTED_VERSION: 400, UNSUPPORTED_SASL_MECHANISM: 400, RESOURCE_NOT_FOUND_EXCEPTION: 404, MESSAGE_TOO_LARGE: 413,
  RECORD_LIST_TOO_LARGE: 413, INVALID_RECORD: 400, TOPIC_DELETION_DISABLED: 400, UNACCEPTABLE_CREDENTIAL: 400,
  THROTTLING_QUOTA_EXCEEDED: 429, REQUEST_TIMED_OUT: 504, NOT_CONTROLLER: 503, LEADER_NOT_AVAILABLE: 503,
  NOT_LEADER_OR_FOLLOWER: 503, COORDINATOR_NOT_AVAILABLE: 503, COORDINATOR_LOAD_IN_PROGRESS: 503, NOT_COORDINATOR: 503,
  BROKER_NOT_AVAILABLE: 503, NOT_ENOUGH_REPLICAS: 503, KAFKA_STORAGE_ERROR: 503,
};

/** An error as the API answers it: status and {error, code?}. */
export function errorAnswer(err: unknown): { status: number; body: { error: string; code?: string } } {
  if (err instanceof HttpError) return { status: err.status, body: err.code ? { error: err.message, code: err.code } : { error: err.message } };
  if (err instanceof KafkaError) return { status: STATUS_BY_KAFKA_ERROR[err.kafkaError] ?? 500, body: { error: err.message, code: err.kafkaError } };
  if (err instanceof TributaryError) {
    // The client's own failures: the cluster unreachable, a timeout, a bad argument (e.g. an unknown ACL name).
    const status = err.code === 'ERR_CONNECTION' ? 502 : err.code === 'ERR_REQUEST_TIMEOUT' ? 504 : err.code === 'ERR_CLIENT_STATE' ? 400 : 500;
    return { status, body: { error: err.message } };
  }
  return { status: 500, body: { error: err instanceof Error ? err.message : String(err) } };
}

export function sendError(res: ServerResponse, err: unknown): void {
  const { status, body } = errorAnswer(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, body);
}

/** Reads the body (at most MAX_BODY_BYTES: 413 beyond) and parses it as JSON; an empty body is `{}`. */
export async function readJson(req: IncomingMessage, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON');
  }
}

// ---------- small validators for JSON bodies and query strings ----------

export function asObject(v: unknown, what = 'the request body'): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new HttpError(400, `${what} must be a JSON object`);
  return v as Record<string, unknown>;
}

export function str(o: Record<string, unknown>, key: string): string {
  const v = o[key];
  if (typeof v !== 'string' || v === '') throw new HttpError(400, `"${key}" must be a non-empty string`);
  return v;
}

export function optStr(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new HttpError(400, `"${key}" must be a string`);
  return v;
}

export function optInt(o: Record<string, unknown>, key: string, min = -Infinity, max = Infinity): number | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw new HttpError(400, `"${key}" must be an integer${min > -Infinity ? ` ≥ ${min}` : ''}${max < Infinity ? ` ≤ ${max}` : ''}`);
  }
  return v;
}

export function stringRecord(v: unknown, what: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  const o = asObject(v, `"${what}"`);
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(o)) {
    if (typeof x !== 'string' && typeof x !== 'number' && typeof x !== 'boolean') throw new HttpError(400, `"${what}.${k}" must be a string`);
    out[k] = String(x);
  }
  return out;
}

export function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new HttpError(400, `"${what}" must be a list of strings`);
  return v as string[];
}

/** A query parameter as a non-negative integer (or a default). */
export function queryInt(q: URLSearchParams, key: string, def: number | undefined, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = q.get(key);
  if (raw === null || raw === '') return def;
  if (!/^-?\d+$/.test(raw)) throw new HttpError(400, `query parameter "${key}" must be an integer, not "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, `query parameter "${key}" must be between ${min} and ${max}`);
  return n;
}
