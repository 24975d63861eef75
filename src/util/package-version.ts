import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * Tributary's version from package.json, or 'unknown' if it cannot be read. The URL is relative to
 * dist/src/util (and to dist/src/bundle, the same depth, when esbuild inlines this module into a CLI bundle).
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  try {
    cached = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    cached = 'unknown';
  }
  return cached;
}
