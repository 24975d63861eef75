/** Runs an example's built main.js as a child, the way its README says: one command, bounded. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runExampleMain(name: string, args: string[], timeoutMs = 20_000): Promise<ExampleRun> {
  const main = fileURLToPath(new URL(`../../../examples/${name}/main.js`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
