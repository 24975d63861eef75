#!/usr/bin/env node
// The CLI bundle (tools/build-cli.mjs) when it is at least as new as the last tsc build, else the compiled modules.
import { statSync } from 'node:fs';

const dist = new URL('../dist/', import.meta.url);
const mtime = (path) => {
  try {
    return statSync(new URL(path, dist)).mtimeMs;
  } catch {
    return -1;
  }
};
const bundled = mtime('src/bundle/entry.js');
const entry = bundled >= 0 && bundled >= mtime('.tsbuildinfo') ? '../dist/src/bundle/entry.js' : '../dist/src/cli/entry.js';
import(entry).catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('tributary is not built yet: run `npm run build` (npm ci does this via the prepare script).');
  } else {
    console.error(err);
  }
  process.exit(1);
});
