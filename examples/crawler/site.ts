/**
 * The crawler's fixture: a small web site on 127.0.0.1 (a free port), pages linking to each other, one link
 * to a page that does not exist and one to another host (which the crawler must not follow).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

interface Page {
  title: string;
  links: string[];
  body: string;
}

export const PAGES: Record<string, Page> = {
  '/': { title: 'Tributary Coffee', links: ['/menu', '/about', '/blog'], body: 'Fresh coffee, streamed to your cup.' },
  '/menu': { title: 'Menu', links: ['/', '/menu/espresso', '/menu/filter'], body: 'What we brew.' },
  '/menu/espresso': { title: 'Espresso', links: ['/menu'], body: 'Short and strong.'.repeat(20) },
  '/menu/filter': { title: 'Filter coffee', links: ['/menu', '/blog/brewing'], body: 'Slow and clear.'.repeat(40) },
  '/about': { title: 'About us', links: ['/', '/contact', 'https://example.com/partner'], body: 'Since 2026.' },
  '/contact': { title: 'Contact', links: ['/', '/jobs'], body: 'hello@example.com' },
  '/blog': { title: 'Blog', links: ['/', '/blog/brewing', '/blog/beans'], body: 'Notes from the roastery.' },
  '/blog/brewing': { title: 'How we brew', links: ['/blog', '/menu/filter'], body: 'Water at 94 °C.'.repeat(60) },
  '/blog/beans': { title: 'Our beans', links: ['/blog', '/about'], body: 'Single origin.'.repeat(30) },
};

/** Pages reachable from / (every page above; /jobs is a broken link). */
export const REACHABLE = Object.keys(PAGES).length;

function html(p: Page): string {
  const links = p.links.map((href) => `    <li><a href="${href}">${href}</a></li>`).join('\n');
  return `<!doctype html>\n<html>\n<head><meta charset="utf-8"><title>${p.title}</title></head>\n<body>\n  <h1>${p.title}</h1>\n  <p>${p.body}</p>\n  <ul>\n${links}\n  </ul>\n</body>\n</html>\n`;
}

export interface Site {
  url: string;
  /** Requests served, by path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

export async function startSite(): Promise<Site> {
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const page = PAGES[path];
    if (page === undefined) {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end('<html><head><title>Not found</title></head><body>404</body></html>');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html(page));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
