/**
 * A run of consecutive free TCP ports on 127.0.0.1, for a dev cluster: broker i on base + i - 1, then etcd's
 * client and peer ports. Separately picked free ports can overlap those ranges (the OS often hands out
 * neighbouring ports), so the whole run is checked by binding every port of it.
 */
import { createConnection, createServer, type Server } from 'node:net';

/** A server listening on `port` (0: any), or null when the port is taken. */
function tryListen(port: number): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(null));
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

async function closeAll(servers: Server[]): Promise<void> {
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
}

/** The first of `count` consecutive free ports (at most 50 tries; a port may still be taken by the time it is used). */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const held: Server[] = [];
    try {
      const first = await tryListen(0);
      if (first === null) continue;
      held.push(first);
      const base = (first.address() as { port: number }).port;
      if (base + count - 1 > 65535) continue;
      let ok = true;
      for (let p = base + 1; ok && p < base + count; p++) {
        const s = await tryListen(p);
        if (s === null) ok = false;
        else held.push(s);
      }
      if (ok) return base;
    } finally {
      await closeAll(held);
    }
  }
  throw new Error(`no run of ${count} free ports found`);
}

/** Ports for a dev cluster of `brokers`: basePort, and etcdPort = basePort + brokers (its peer port next). */
export async function devClusterPorts(brokers: number): Promise<{ basePort: number; etcdPort: number }> {
  const basePort = await freePortRun(brokers + 2);
  return { basePort, etcdPort: basePort + brokers };
}

/**
 * Whether a TCP connection to host:port opens and stays open for `holdMs` (a cut FaultProxy resets it at once,
 * a dead broker refuses it). Plain TCP, so the check cannot itself hang on a client's retry logic.
 */
export function tcpReachable(address: string, holdMs = 300): Promise<boolean> {
  const i = address.lastIndexOf(':');
  return new Promise((resolve) => {
    const socket = createConnection({ host: address.slice(0, i), port: Number(address.slice(i + 1)) });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 5000);
    socket.once('error', () => done(false));
    socket.once('close', () => done(false));
    socket.once('connect', () => {
      clearTimeout(timer);
      setTimeout(() => done(!socket.destroyed), holdMs);
    });
  });
}
