/**
 * The console's defences and its security pages: ACL, SCRAM user and quota routes against a broker with the
 * authorizer; read-only mode; the CSRF header; login (401 / 204 + cookie / 401); CSP and the other headers;
 * loopback binding and the Host check; static files (content types, compression, no path traversal, a clear
 * 500 when the web app is not built); the 1 MiB body cap.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFileSync } from 'node:fs';
import { makeTestCerts } from '../../helpers/certs.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, brotliDecompressSync } from 'node:zlib';
import { startBroker, type RunningBroker } from '../../../src/server/broker.js';
import { startConsole, type RunningConsole } from '../../../src/console/server.js';
import { loadLogin, parseLoginFile } from '../../../src/console/auth.js';
import { apiClient, fakeAssets } from './helpers.js';

/** A raw request (fetch normalizes paths and sets Host itself). */
function raw(url: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('console security', () => {
  let dataDir: string;
  let assets: string;
  let broker: RunningBroker;
  const consoles: RunningConsole[] = [];
  const start = async (extra: Partial<Parameters<typeof startConsole>[0]> = {}): Promise<RunningConsole> => {
    const c = await startConsole({ client: { bootstrapServers: broker.address, retries: 1, retryBackoffMs: 50 }, port: 0, assetsDir: assets, ...extra });
    consoles.push(c);
    return c;
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'tributary-console-sec-'));
    assets = await fakeAssets();
    broker = await startBroker({
      host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent',
      config: { 'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer', 'super.users': 'User:ANONYMOUS' },
    });
  });
  after(async () => {
    for (const c of consoles) await c.close();
    await broker?.close();
    await rm(dataDir, { recursive: true, force: true });
    await rm(assets, { recursive: true, force: true });
  });

  test('ACLs, users and quotas round trip against a broker with the authorizer', async () => {
    const api = apiClient((await start()).url);
    const binding = { resourceType: 'TOPIC', resourceName: 'orders', patternType: 'LITERAL', principal: 'User:alice', host: '*', operation: 'READ', permissionType: 'ALLOW' };
    let r = await api('POST', '/api/acls', binding);
    assert.equal(r.status, 201);
    r = await api('POST', '/api/acls', { ...binding, resourceName: 'pay', resourceType: 'group', patternType: 'prefixed', permissionType: 'deny' });
    assert.equal(r.status, 201);
    r = await api('GET', '/api/acls');
    assert.deepEqual(r.json.sort((a: any, b: any) => (a.resourceType < b.resourceType ? -1 : 1)), [
      { resourceType: 'GROUP', resourceName: 'pay', patternType: 'PREFIXED', principal: 'User:alice', host: '*', operation: 'READ', permissionType: 'DENY' },
      binding,
    ]);
    r = await api('POST', '/api/acls', { ...binding, operation: 'FLY' });
    assert.equal(r.status, 400);
    r = await api('DELETE', '/api/acls', { resourceType: 'TOPIC', principal: 'User:alice' });
    assert.deepEqual(r.json, { deleted: 1 });
    assert.equal((await api('GET', '/api/acls')).json.length, 1);

    r = await api('POST', '/api/users', { user: 'bob', mechanism: 'SCRAM-SHA-256', password: 'bob-secret', iterations: 8192 });
    assert.equal(r.status, 201);
    r = await api('GET', '/api/users');
    assert.deepEqual(r.json, [{ user: 'bob', mechanisms: [{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }] }]);
    assert.equal((await api('POST', '/api/users', { user: 'bob', mechanism: 'MD5', password: 'x' })).status, 400);
    r = await api('DELETE', '/api/users/bob?mechanism=SCRAM-SHA-256');
    assert.equal(r.status, 204);
    assert.deepEqual((await api('GET', '/api/users')).json, []);

    r = await api('PUT', '/api/quotas', { entity: [{ type: 'user', name: 'bob' }], set: { producer_byte_rate: 1048576, consumer_byte_rate: 2048 } });
    assert.equal(r.status, 204);
    r = await api('PUT', '/api/quotas', { entity: [{ type: 'client-id', name: null }], set: { request_percentage: 50 } });
    assert.equal(r.status, 204);
    r = await api('GET', '/api/quotas');
    const byEntity = Object.fromEntries(r.json.map((q: any) => [JSON.stringify(q.entity), q.values]));
    assert.deepEqual(byEntity, {
      [JSON.stringify([{ type: 'user', name: 'bob' }])]: { producer_byte_rate: 1048576, consumer_byte_rate: 2048 },
      [JSON.stringify([{ type: 'client-id', name: null }])]: { request_percentage: 50 },
    });
    r = await api('PUT', '/api/quotas', { entity: [{ type: 'user', name: 'bob' }], delete: ['consumer_byte_rate'] });
    assert.equal(r.status, 204);
    r = await api('GET', '/api/quotas');
    assert.deepEqual(r.json.find((q: any) => q.entity[0].type === 'user').values, { producer_byte_rate: 1048576 });
    assert.equal((await api('PUT', '/api/quotas', { entity: [{ type: 'planet', name: 'x' }], set: { a: 1 } })).status, 400);
  });

  test('read-only: every mutation 403, reads work', async () => {
    const c = await start({ readOnly: true });
    const api = apiClient(c.url);
    assert.equal((await api('GET', '/api/session')).json.readOnly, true);
    for (const [method, path, body] of [
      ['POST', '/api/topics', { name: 'x', partitions: 1 }], ['DELETE', '/api/topics/x', undefined], ['PUT', '/api/topics/x/configs', { set: { a: 'b' } }],
      ['POST', '/api/topics/x/messages', { value: 'v' }], ['POST', '/api/groups/g/reset', { to: 'earliest' }], ['DELETE', '/api/groups/g', undefined],
      ['POST', '/api/acls', {}], ['PUT', '/api/quotas', {}], ['POST', '/api/users', {}],
    ] as const) {
      const r = await api(method, path, body);
      assert.equal(r.status, 403, `${method} ${path}`);
      assert.deepEqual(r.json, { error: 'the console is read-only' });
    }
    assert.equal((await api('GET', '/api/topics')).status, 200);
  });

  test('mutations without the X-Tributary-Console header: 403', async () => {
    const c = await start();
    const res = await fetch(new URL('/api/topics', c.url), { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'csrf', partitions: 1 }) });
    assert.equal(res.status, 403);
    assert.match(((await res.json()) as any).error, /X-Tributary-Console: 1/);
    const api = apiClient(c.url);
    assert.ok(!(await api('GET', '/api/topics')).json.some((t: any) => t.name === 'csrf'));
    const wrong = await fetch(new URL('/api/topics/x', c.url), { method: 'DELETE', headers: { 'X-Tributary-Console': 'yes' } });
    assert.equal(wrong.status, 403);
  });

  test('login: 401 without a session, 401 for a wrong password, 204 + HttpOnly SameSite=Strict cookie, logout', async () => {
    const c = await start({ login: new Map([['admin', 's3cret'], ['ops', 'other']]) });
    const anon = apiClient(c.url);
    let r = await anon('GET', '/api/session');
    assert.deepEqual(r.json, { readOnly: false, loginRequired: true, authenticated: false, bootstrap: broker.address, metrics: false, version: '0.1.0' });
    assert.equal((await anon('GET', '/api/topics')).status, 401);
    assert.equal((await anon('GET', '/api/events')).status, 401);
    r = await anon('POST', '/api/login', { username: 'admin', password: 'wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('set-cookie'), null);
    r = await anon('POST', '/api/login', { username: 'nobody', password: 's3cret' });
    assert.equal(r.status, 401);
    r = await anon('POST', '/api/login', { username: 'admin', password: 's3cret' });
    assert.equal(r.status, 204);
    const setCookie = r.headers.get('set-cookie')!;
    assert.match(setCookie, /^tributary_console_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/; Max-Age=28800$/);
    const cookie = setCookie.split(';')[0]!;
    const authed = apiClient(c.url, { cookie });
    r = await authed('GET', '/api/session');
    assert.equal(r.json.authenticated, true);
    assert.equal(r.json.user, 'admin');
    assert.equal((await authed('GET', '/api/topics')).status, 200);
    assert.equal((await apiClient(c.url, { cookie: 'tributary_console_session=forged' })('GET', '/api/topics')).status, 401);
    r = await authed('POST', '/api/logout');
    assert.equal(r.status, 204);
    assert.equal((await authed('GET', '/api/topics')).status, 401, 'the session is gone');
    // The web app itself loads without a session (it holds no data).
    assert.equal((await fetch(c.url)).status, 200);
  });

  test('HTTPS: the console serves TLS with the given PEM files; cookies are Secure and HSTS is set; plain HTTP is refused', async () => {
    const certs = makeTestCerts();
    try {
      const c = await start({ login: new Map([['admin', 's3cret']]), tls: { cert: readFileSync(certs.serverCert), key: readFileSync(certs.serverKey) } });
      assert.match(c.url, /^https:\/\/127\.0\.0\.1:\d+\/$/);
      const call = (method: string, path: string, body?: unknown): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> =>
        new Promise((resolve, reject) => {
          const data = body === undefined ? undefined : JSON.stringify(body);
          const req = httpsRequest({
            host: '127.0.0.1', port: c.port, path, method, ca: readFileSync(certs.caCert),
            headers: { 'x-tributary-console': '1', ...(data ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}) },
          }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (ch: Buffer) => chunks.push(ch));
            res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
          });
          req.on('error', reject);
          req.end(data);
        });
      const session = await call('GET', '/api/session');
      assert.equal(session.status, 200);
      assert.equal(JSON.parse(session.body).loginRequired, true);
      assert.equal(session.headers['strict-transport-security'], 'max-age=31536000');
      const login = await call('POST', '/api/login', { username: 'admin', password: 's3cret' });
      assert.equal(login.status, 204);
      const cookie = String(login.headers['set-cookie']);
      assert.match(cookie, /HttpOnly; SameSite=Strict; .*; Secure/);
      // A plain HTTP request to the TLS port gets no HTTP answer.
      await assert.rejects(raw(c.url.replace('https:', 'http:'), '/api/session'));
    } finally {
      certs.remove();
    }
  });

  test('login credentials: a user:password file, a single-line file, the environment variable', async () => {
    assert.deepEqual([...parseLoginFile('# admins\nalice:pa:ss\n\nbob:x\n')], [['alice', 'pa:ss'], ['bob', 'x']]);
    assert.deepEqual([...parseLoginFile('only-a-password\n', 'ops')], [['ops', 'only-a-password']]);
    assert.throws(() => parseLoginFile('a:b\nnocolon\n'), /line 2: expected user:password/);
    const file = join(dataDir, 'login.txt');
    await writeFile(file, 'pw\n');
    assert.deepEqual([...loadLogin({ file })!], [['admin', 'pw']]);
    assert.deepEqual([...loadLogin({ user: 'root', env: { TRIBUTARY_CONSOLE_PASSWORD: 'e' } })!], [['root', 'e']]);
    assert.equal(loadLogin({ env: {} }), undefined);
    assert.throws(() => loadLogin({ file: join(dataDir, 'missing') }), /cannot read the login file/);
  });

  test('headers: CSP, frame and sniffing guards on API and static answers; bound to 127.0.0.1; Host check', async () => {
    const c = await start();
    assert.equal(c.host, '127.0.0.1');
    assert.match(c.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    for (const path of ['/api/session', '/', '/app.js', '/api/none']) {
      const res = await fetch(new URL(path, c.url));
      assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/, path);
      assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, path);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
    }
    assert.equal((await fetch(new URL('/api/session', c.url))).headers.get('cache-control'), 'no-store');
    // Another machine's name (DNS rebinding) is refused; localhost is fine.
    assert.equal((await raw(c.url, '/api/session', { Host: 'evil.example:80' })).status, 421);
    assert.equal((await raw(c.url, '/api/session', { Host: `localhost:${c.port}` })).status, 200);
  });

  test('static files: types, compression, index for client routes, no path traversal, a clear 500 when not built', async () => {
    const c = await start();
    let r = await raw(c.url, '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(r.body.toString(), /<title>Tributary<\/title>/);
    r = await raw(c.url, '/topics/orders');
    assert.match(r.body.toString(), /<title>Tributary<\/title>/, 'a client-side route gets the app');
    r = await raw(c.url, '/app.css');
    assert.equal(r.headers['content-type'], 'text/css; charset=utf-8');
    assert.equal(r.headers['cache-control'], 'no-cache');
    const etag = r.headers.etag as string;
    assert.equal((await raw(c.url, '/app.css', { 'If-None-Match': etag })).status, 304);
    r = await raw(c.url, '/app.js', { 'Accept-Encoding': 'gzip' });
    assert.equal(r.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(r.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(r.body).toString(), /^console\.log/);
    r = await raw(c.url, '/app.js', { 'Accept-Encoding': 'gzip, deflate, br' });
    assert.equal(r.headers['content-encoding'], 'br');
    assert.ok(r.body.length < 200, `${r.body.length} bytes`);
    assert.match(brotliDecompressSync(r.body).toString(), /^console\.log/);
    assert.equal((await raw(c.url, '/missing.js')).status, 404);
    for (const path of ['/../package.json', '/..%2f..%2fpackage.json', '/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/app.js/..%5c..%5cpackage.json', '/.env']) {
      const t = await raw(c.url, path);
      assert.equal(t.status, 403, path);
      assert.doesNotMatch(t.body.toString(), /"name": "tributary"|root:/, path);
    }
    assert.equal((await fetch(new URL('/', c.url), { method: 'POST' })).status, 405);
    const empty = await mkdtemp(join(tmpdir(), 'tributary-console-empty-'));
    try {
      const bare = await start({ assetsDir: empty });
      const res = await fetch(bare.url);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /run npm run build/);
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });

  test('request bodies over 1 MiB: 413; bad JSON: 400', async () => {
    const c = await start();
    const big = JSON.stringify({ value: 'x'.repeat(1024 * 1024 + 10) });
    let res = await fetch(new URL('/api/topics/any/messages', c.url), { method: 'POST', headers: { 'X-Tributary-Console': '1', 'Content-Type': 'application/json' }, body: big });
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as any).error, /larger than 1048576 bytes/);
    res = await fetch(new URL('/api/topics', c.url), { method: 'POST', headers: { 'X-Tributary-Console': '1', 'Content-Type': 'application/json' }, body: '{"name":' });
    assert.equal(res.status, 400);
    assert.deepEqual(await res.json(), { error: 'the request body is not valid JSON' });
  });
});
