/** The process entry of the `tributary` command (bin/tributary.js loads this). */
import { main } from './main.js';
import { exitQuietlyOnClosedStdout } from './stdout.js';

exitQuietlyOnClosedStdout();

main(process.argv).catch((err: unknown) => {
  console.error(`tributary: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
