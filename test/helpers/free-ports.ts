/**
 * Free ports: one the OS picks (for a server started right after), and ports for a dev cluster — broker i on
 * base + i - 1, then etcd's client and peer ports, as one run of free ports below the ephemeral range
 * (port-range.ts); and a TCP reachability probe.
 */
import { once } from 'node:events';
import { createConnection, createServer } from 'node:net';
import { freePortRange } from './port-range.js';

/** A free TCP port on 127.0.0.1 (the OS picks it; the listener is closed before the server binds it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Ports for a dev cluster of `brokers`: basePort, and etcdPort = basePort + brokers (its peer port next). */
export async function devClusterPorts(brokers: number): Promise<{ basePort: number; etcdPort: number }> {
  const basePort = await freePortRange(brokers + 2);
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
