/**
 * The console's optional login. Credentials come from a file (`user:password` lines, or one line holding only a
 * password for the --login-user) or from the TRIBUTARY_CONSOLE_PASSWORD environment variable — never from argv
 * or URLs. A login creates a session: a random 32-byte id in an HttpOnly, SameSite=Strict cookie, expiring after
 * `ttlMs`; sessions live in memory (a restart logs everyone out).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';

export const SESSION_COOKIE = 'tributary_console_session';
/** Default session lifetime: 8 hours. */
export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;
/** Sessions kept at most (the oldest goes first). */
const MAX_SESSIONS = 1000;

/** user → password. */
export type LoginCredentials = Map<string, string>;

/**
 * Reads a login file: `user:password` per line (blank lines and # comments skipped), or a single line without
 * a colon, which is the password of `defaultUser`.
 */
export function parseLoginFile(text: string, defaultUser = 'admin'): LoginCredentials {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const out: LoginCredentials = new Map();
  if (lines.length === 1 && !lines[0]!.includes(':')) {
    out.set(defaultUser, lines[0]!);
    return out;
  }
  for (const [i, line] of lines.entries()) {
    const c = line.indexOf(':');
    if (c <= 0 || c === line.length - 1) throw new Error(`login file line ${i + 1}: expected user:password`);
    out.set(line.slice(0, c), line.slice(c + 1));
  }
  if (out.size === 0) throw new Error('the login file holds no user:password line');
  return out;
}

/** The login from --login-file, else TRIBUTARY_CONSOLE_PASSWORD (for --login-user, default admin), else none. */
export function loadLogin(opts: { file?: string; user?: string; env?: NodeJS.ProcessEnv }): LoginCredentials | undefined {
  const user = opts.user ?? 'admin';
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, 'utf8');
    } catch (err) {
      throw new Error(`cannot read the login file ${opts.file}: ${(err as Error).message}`);
    }
    return parseLoginFile(text, user);
  }
  const password = (opts.env ?? process.env).TRIBUTARY_CONSOLE_PASSWORD;
  if (password) return new Map([[user, password]]);
  return undefined;
}

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class Sessions {
  private readonly sessions = new Map<string, { user: string; expires: number }>();

  /** `secure`: the console serves HTTPS, so the cookie is marked Secure (never sent over plain HTTP). */
  constructor(private readonly credentials: LoginCredentials, readonly ttlMs = DEFAULT_SESSION_TTL_MS, private readonly secure = false) {}

  /** Whether the password is right for the user (compared in constant time, also for unknown users). */
  check(user: string, password: string): boolean {
    const expected = this.credentials.get(user);
    const ok = timingSafeEqual(digest(expected ?? '\u0000unknown'), digest(password));
    return ok && expected !== undefined;
  }

  create(user: string): string {
    const id = randomBytes(32).toString('base64url');
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(id, { user, expires: Date.now() + this.ttlMs });
    return id;
  }

  /** The logged-in user of the request's cookie, or null. */
  user(req: IncomingMessage): string | null {
    const id = cookie(req, SESSION_COOKIE);
    if (!id) return null;
    const s = this.sessions.get(id);
    if (!s) return null;
    if (s.expires <= Date.now()) {
      this.sessions.delete(id);
      return null;
    }
    return s.user;
  }

  destroy(req: IncomingMessage): void {
    const id = cookie(req, SESSION_COOKIE);
    if (id) this.sessions.delete(id);
  }

  setCookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(this.ttlMs / 1000)}${this.secure ? '; Secure' : ''}`;
  }

  static clearCookie(): string {
    return `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`;
  }
}

function cookie(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}
