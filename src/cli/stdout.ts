/** Standard output of the CLI processes. Imports nothing, so every entry can load it cheaply. */
/**
 * A reader that goes away (`tributary acls list | head -3`) ends the command quietly with exit 0, as a Unix tool
 * does, instead of an unhandled EPIPE. Commands that handle it themselves (consume leaves its group first) add
 * their own 'error' listener, and this one then stands aside.
 */
export function exitQuietlyOnClosedStdout(): void {
  const onError = (err: NodeJS.ErrnoException): void => {
    if (err.code !== 'EPIPE') throw err;
    if (process.stdout.listenerCount('error') === 1) process.exit(0);
  };
  process.stdout.on('error', onError);
}
