// A CLI whose reader went away (`tributary acls list | head -3`): exit 0 and nothing on stderr, not an unhandled
// EPIPE; without the handler the same child dies with one (so the test can fail).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const STDOUT_MODULE = fileURLToPath(new URL('../../../src/cli/stdout.js', import.meta.url));

function runWithClosedReader(install: boolean): Promise<{ code: number | null; stderr: string }> {
  const script = `
    ${install ? `const { exitQuietlyOnClosedStdout } = await import(${JSON.stringify(STDOUT_MODULE)}); exitQuietlyOnClosedStdout();` : ''}
    setTimeout(() => { for (let i = 0; i < 64; i++) process.stdout.write('x'.repeat(65536) + '\\n'); }, 200);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stderr })));
}

test('a closed stdout ends the command quietly with exit 0', async () => {
  const quiet = await runWithClosedReader(true);
  assert.equal(quiet.code, 0);
  assert.equal(quiet.stderr, '');
  const unhandled = await runWithClosedReader(false);
  assert.notEqual(unhandled.code, 0);
  assert.match(unhandled.stderr, /EPIPE/);
});
