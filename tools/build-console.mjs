#!/usr/bin/env node
// Bundles the console's web app (src/console/web) into dist/console-web: index.html, app.js (Preact + uPlot +
// the pages, minified ES module) and app.css (uPlot's stylesheet and the console's). Prints the sizes, raw and
// gzipped, so the page weight stays visible.
import { build } from 'esbuild';
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src/console/web');
const out = join(root, 'dist/console-web');
const quiet = process.argv.includes('--quiet');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning', absWorkingDir: root };
await build({
  ...common,
  entryPoints: [join(src, 'main.tsx')],
  outfile: join(out, 'app.js'),
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  tsconfig: join(src, 'tsconfig.json'),
  define: { 'process.env.NODE_ENV': '"production"' },
});
await build({ ...common, entryPoints: [join(src, 'style.css')], outfile: join(out, 'app.css') });
for (const f of ['index.html', 'favicon.svg']) await copyFile(join(src, f), join(out, f));

if (!quiet) {
  let raw = 0;
  let gz = 0;
  for (const f of ['index.html', 'app.js', 'app.css', 'favicon.svg']) {
    const b = await readFile(join(out, f));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  console.log(`console-web: ${raw} bytes, ${gz} gzipped (index.html + app.js + app.css + favicon.svg) in dist/console-web`);
}
