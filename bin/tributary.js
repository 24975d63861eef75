#!/usr/bin/env node
import('../dist/src/cli/entry.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/cli')) {
    console.error('tributary is not built yet: run `npm run build` (npm ci does this via the prepare script).');
  } else {
    console.error(err);
  }
  process.exit(1);
});
