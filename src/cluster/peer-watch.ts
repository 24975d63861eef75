/**
 * Crash detection faster than a lease. A broker's etcd lease (broker.session.timeout.ms) is how the cluster learns
 * that a broker is gone whatever the cause — a dead machine, a cut network, a paused process — and etcd expires it
 * up to half a second late. But the commonest failure, a broker process that crashes (kill -9, OOM, a bug) on a
 * machine that keeps running, announces itself: the kernel closes the process's sockets and refuses new
 * connections to its port. Every broker keeps one idle TCP connection to every other registered broker's
 * listener; when one closes and a new connection is refused twice in a row, the process behind it is gone, and
 * this broker revokes that registration's lease at once. Its keys vanish, the controller elects new leaders (or
 * a new controller is elected), all within milliseconds of the crash instead of the lease's seconds.
 *
 * Safety does not rest on this: a wrongly revoked broker (impossible short of a listener that refuses while the
 * process lives) registers again with a new broker epoch and is fenced like any re-registered broker; a replaced
 * leader cannot commit, since its ISR names the new leader and ISR changes are compare-and-swap. A refusal seen
 * before the first connection ever succeeded (a broker registered before its port accepts, a firewall) counts for
 * nothing; timeouts and unreachable hosts count for nothing: those cases wait for the lease, as before.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from '../logger.js';
import type { BrokerRegistration, MetadataImage } from './metadata.js';

export interface PeerWatchOptions {
  /** This broker (not watched). */
  nodeId: number;
  /** Unregisters a peer found dead (EtcdClusterStore.revokeLease). */
  revokeLease(leaseId: string): Promise<void>;
  logger: Logger;
  /** Delay between the two connection attempts that must both be refused. Default 25 ms. */
  confirmDelayMs?: number;
  /** Retry interval while a peer cannot be reached (never connected, or a timeout). Default 1000 ms. */
  retryMs?: number;
}

interface Peer {
  readonly reg: BrokerRegistration;
  socket: Socket | null;
  /** A connection has succeeded once: only then does a refusal mean the process died. */
  armed: boolean;
  timer: NodeJS.Timeout | undefined;
  stopped: boolean;
  /** Consecutive connections that closed within retryMs of opening. */
  shortLived: number;
}

export class PeerWatch {
  private readonly peers = new Map<number, Peer>();
  private readonly confirmDelayMs: number;
  private readonly retryMs: number;
  private closed = false;

  constructor(private readonly opts: PeerWatchOptions) {
    this.confirmDelayMs = opts.confirmDelayMs ?? 25;
    this.retryMs = opts.retryMs ?? 1000;
  }

  /** Watches the image's live brokers (a new registration of a node replaces the watch on its old one). */
  update(image: MetadataImage): void {
    if (this.closed) return;
    for (const [id, peer] of this.peers) {
      const reg = image.brokers.get(id);
      if (!reg || reg.brokerEpoch !== peer.reg.brokerEpoch || reg.shuttingDown) this.drop(id, peer);
    }
    for (const [id, reg] of image.brokers) {
      // A broker shutting down closes its listener before its registration goes: not a crash.
      if (id === this.opts.nodeId || reg.shuttingDown || reg.leaseId === '0' || this.peers.has(id)) continue;
      const peer: Peer = { reg, socket: null, armed: false, timer: undefined, stopped: false, shortLived: 0 };
      this.peers.set(id, peer);
      this.connect(peer, 0);
    }
  }

  close(): void {
    this.closed = true;
    for (const [id, peer] of this.peers) this.drop(id, peer);
  }

  /** Node ids with an open connection (tests). */
  connected(): number[] {
    return [...this.peers].filter(([, p]) => p.socket !== null && p.armed).map(([id]) => id);
  }

  private drop(id: number, peer: Peer): void {
    peer.stopped = true;
    clearTimeout(peer.timer);
    peer.socket?.destroy();
    peer.socket = null;
    this.peers.delete(id);
  }

  /** `refusals`: consecutive refusals since the last connection closed. */
  private connect(peer: Peer, refusals: number): void {
    if (peer.stopped) return;
    const socket = connect({ host: peer.reg.host, port: peer.reg.port });
    peer.socket = socket;
    socket.setNoDelay(true);
    let opened = false;
    let openedAt = 0;
    socket.once('connect', () => {
      opened = true;
      openedAt = Date.now();
      peer.armed = true;
      // Idle: nothing is sent; the broker closes it after connections.max.idle.ms and it is opened again.
      socket.setKeepAlive(true, 1000);
    });
    socket.on('data', () => undefined);
    let failed = false;
    // `on`, not `once`: a second 'error' with no listener would be thrown.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (peer.stopped || opened || failed) return;
      failed = true;
      socket.destroy();
      if (err.code === 'ECONNREFUSED' && peer.armed) {
        if (refusals + 1 >= 2) {
          void this.revoke(peer);
          return;
        }
        peer.timer = setTimeout(() => this.connect(peer, refusals + 1), this.confirmDelayMs);
        return;
      }
      peer.timer = setTimeout(() => this.connect(peer, 0), this.retryMs);
    });
    socket.once('close', () => {
      if (peer.stopped || !opened) return;
      peer.socket = null;
      // Closed by the other end (a crash, its idle timeout, its shutdown): look again at once — unless the last
      // connections each closed as soon as they opened (a broker shedding connections over a limit): no tight
      // reconnect loop then, one attempt per retryMs.
      peer.shortLived = Date.now() - openedAt < this.retryMs ? peer.shortLived + 1 : 0;
      if (peer.shortLived >= 2) peer.timer = setTimeout(() => this.connect(peer, 0), this.retryMs);
      else this.connect(peer, 0);
    });
  }

  private async revoke(peer: Peer): Promise<void> {
    const { nodeId, brokerEpoch, leaseId } = peer.reg;
    peer.stopped = true;
    this.opts.logger.warn({ nodeId, brokerEpoch }, 'broker refuses connections: its process is gone; revoking its etcd lease');
    try {
      await this.opts.revokeLease(leaseId);
    } catch (err) {
      // etcd unreachable: the lease expires by itself.
      this.opts.logger.warn({ err, nodeId }, 'could not revoke the lease of a dead broker; waiting for its expiry');
    }
    // The image's delete of the registration removes the peer; a new registration is watched afresh.
    if (this.peers.get(nodeId) === peer) this.peers.delete(nodeId);
  }
}
