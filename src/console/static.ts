/**
 * The web app's files (dist/console-web/, written by tools/build-console.mjs): served with their content type,
 * an ETag for revalidation (names are not content-hashed, so every file is `no-cache`), and brotli or gzip for
 * text when the browser accepts it (compressed once per file version, kept in memory). `/` and any path
 * without a file extension get index.html (the app routes on the client). Paths never leave the folder.
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { brotliCompressSync, constants as zlib, gzipSync } from 'node:zlib';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8', '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.gif': 'image/gif',
  '.webp': 'image/webp', '.ico': 'image/x-icon', '.woff': 'font/woff', '.woff2': 'font/woff2', '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.svg', '.txt', '.webmanifest']);

interface Cached {
  etag: string;
  raw: Buffer;
  br?: Buffer;
  gzip?: Buffer;
}

export class StaticFiles {
  private readonly root: string;
  private readonly cache = new Map<string, Cached>();

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** Answers a GET/HEAD for a non-/api path. */
  async serve(req: IncomingMessage, res: ServerResponse, pathname: string): Promise<void> {
    let decoded: string;
    try {
      decoded = decodeURIComponent(pathname);
    } catch {
      return this.plain(res, 400, 'Bad request: malformed path');
    }
    const segments = decoded.split(/[/\\]/);
    if (decoded.includes('\0') || segments.some((s) => s === '..' || s.startsWith('.') && s !== '')) {
      return this.plain(res, 403, 'Forbidden');
    }
    const rel = segments.filter(Boolean).join(sep);
    let file = rel === '' ? join(this.root, 'index.html') : resolve(this.root, rel);
    if (file !== this.root && !file.startsWith(this.root + sep)) return this.plain(res, 403, 'Forbidden');
    let info = await stat(file).catch(() => null);
    if (!info?.isFile()) {
      if (extname(rel) !== '') return this.plain(res, 404, 'Not found');
      // A client-side route: the app.
      file = join(this.root, 'index.html');
      info = await stat(file).catch(() => null);
      if (!info?.isFile()) {
        return this.plain(res, 500, `The console's web files are missing (${file}): run npm run build (it builds them with node tools/build-console.mjs).`);
      }
    }
    const ext = extname(file).toLowerCase();
    const etag = `W/"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
    let entry = this.cache.get(file);
    if (!entry || entry.etag !== etag) {
      entry = { etag, raw: await readFile(file) };
      this.cache.set(file, entry);
    }
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Type', TYPES[ext] ?? 'application/octet-stream');
    if (req.headers['if-none-match'] === etag) {
      res.writeHead(304);
      res.end();
      return;
    }
    let body = entry.raw;
    if (COMPRESSIBLE.has(ext) && entry.raw.length > 512) {
      res.setHeader('Vary', 'Accept-Encoding');
      const accept = String(req.headers['accept-encoding'] ?? '');
      if (/\bbr\b/.test(accept)) {
        entry.br ??= brotliCompressSync(entry.raw, { params: { [zlib.BROTLI_PARAM_QUALITY]: 9, [zlib.BROTLI_PARAM_SIZE_HINT]: entry.raw.length } });
        body = entry.br;
        res.setHeader('Content-Encoding', 'br');
      } else if (/\bgzip\b/.test(accept)) {
        entry.gzip ??= gzipSync(entry.raw, { level: 9 });
        body = entry.gzip;
        res.setHeader('Content-Encoding', 'gzip');
      }
    }
    res.writeHead(200, { 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  private plain(res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(text + '\n');
  }
}
