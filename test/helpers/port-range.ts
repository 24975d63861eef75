/**
 * Consecutive free ports for a multi-process cluster (broker i on base + i - 1, etcd's peer port = its client
 * port + 1), picked below Linux's ephemeral range (32768-60999). A port the OS handed out for `listen(0)` is in
 * that range, so the next listen(0) — a fault proxy, a client socket — could take base + 1 before the broker
 * binds it (a proxy given its own port as target then forwards to itself, endlessly). Below the range only an
 * explicit bind can take it.
 */
import { createServer, type Server } from 'node:net';

export async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const servers: Server[] = [];
    try {
      for (let i = 0; i < count; i++) {
        const srv = createServer();
        servers.push(srv);
        await new Promise<void>((res, rej) => {
          srv.once('error', rej);
          srv.listen(base + i, '127.0.0.1', () => res());
        });
      }
      return base;
    } catch {
      // taken: another base
    } finally {
      await Promise.all(servers.map((srv) => new Promise((r) => srv.close(r))));
    }
  }
  throw new Error(`no ${count} consecutive free ports found below 32000`);
}
