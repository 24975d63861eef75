import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { packageVersion } from '../../../src/util/package-version.js';

test('packageVersion reads the version from the package root', () => {
  const root = JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.match(root.version, /^\d+\.\d+\.\d+/);
  assert.equal(packageVersion(), root.version);
});
