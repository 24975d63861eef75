#!/usr/bin/env node
// Bundles the compiled CLIs (dist/src/cli/entry.js, and cli/kafka/entry.js behind Kafka's drop-in scripts, with
// everything they import from dist/src) into dist/src/bundle: one module per entry and one chunk per lazily loaded
// command, npm packages left as imports. Node then
// reads and compiles a handful of files instead of ~280, which is most of what `tributary start` spends before it
// listens (see docs/ARCHITECTURE.md, "Start-up"). bin/tributary.js uses the bundle only when it is newer than the
// last tsc build (dist/.tsbuildinfo), so a plain `tsc` after a build never runs stale code.
//
// Each entry sits at the same depth as the module it replaces (dist/src/<dir>/, and dist/src/bundle/kafka/), so the module-relative URLs in the
// code (../../../package.json, ../../console-web/, ../experiment/sqlite-locker.js) resolve to the same files.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist/src/bundle');
const quiet = process.argv.includes('--quiet');
const started = performance.now();
await rm(out, { recursive: true, force: true });
const result = await build({
  absWorkingDir: root,
  entryPoints: [join(root, 'dist/src/cli/entry.js'), join(root, 'dist/src/cli/kafka/entry.js')],
  outbase: join(root, 'dist/src/cli'),
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  chunkNames: 'chunk-[hash]',
  logLevel: 'warning',
  metafile: true,
});
if (!quiet) {
  const outputs = Object.values(result.metafile.outputs);
  const bytes = outputs.reduce((sum, o) => sum + o.bytes, 0);
  console.log(`CLI bundle: ${outputs.length} files, ${(bytes / 1e6).toFixed(1)} MB in dist/src/bundle (${(performance.now() - started).toFixed(0)} ms)`);
}
