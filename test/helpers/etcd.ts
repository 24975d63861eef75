/**
 * Real etcd processes for tests: `etcd` from PATH (Debian's etcd-server, 3.4) on 127.0.0.1 ports the OS
 * picked, its data dir under the system tmp dir. `startEtcd()` is one member, `startEtcdCluster(3)` a 3-member
 * cluster (the fault tests kill a member). Every process is killed and every dir removed when the test process
 * exits, even if a test forgot to stop them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-ports.js';

export interface EtcdProcess {
  /** The client URL, http://127.0.0.1:<port>. */
  endpoint: string;
  /** The member's name (its --name). */
  name: string;
  pid: number;
  dataDir: string;
  /** Ends the process (SIGKILL when the data dir is the helper's own, else SIGTERM), waits for the exit, removes
   * the data dir unless the caller gave it. */
  stop(): Promise<void>;
  /** Kills the process at once (SIGKILL unless told otherwise); the dir stays until stop(). */
  kill(signal?: NodeJS.Signals): void;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** The last few KB of its output, for failure messages. */
  output(): string;
}

export interface EtcdCluster {
  members: EtcdProcess[];
  /** Every member's client URL, comma-joined (what `--etcd` takes). */
  endpoints: string;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const dirs = new Set<string>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const child of live) {
      try { child.kill('SIGKILL'); } catch { /* already gone */ }
    }
    for (const dir of dirs) {
      try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    }
  });
}

interface MemberPlan {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  ownDir: boolean;
}

async function plan(name: string, dataDir?: string): Promise<MemberPlan> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  let ownDir = false;
  if (dataDir === undefined) {
    dataDir = await mkdtemp(join(tmpdir(), `tributary-etcd-${name}-`));
    ownDir = true;
  }
  return { name, clientPort, peerPort, dataDir, ownDir };
}

function spawnMember(p: MemberPlan, initialCluster: string, token: string): EtcdProcess {
  hookExit();
  const peerUrl = `http://127.0.0.1:${p.peerPort}`;
  const clientUrl = `http://127.0.0.1:${p.clientPort}`;
  const args = [
    '--name', p.name,
    '--data-dir', join(p.dataDir, 'data'),
    '--listen-client-urls', clientUrl,
    '--advertise-client-urls', clientUrl,
    '--listen-peer-urls', peerUrl,
    '--initial-advertise-peer-urls', peerUrl,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', token,
    '--initial-cluster-state', 'new',
    // Small, fast test clusters: quick elections, no metrics listener.
    '--heartbeat-interval', '50',
    '--election-timeout', '500',
    // What a Tributary cluster needs (docs/CLUSTER.md): a topic's partitions are created in one transaction.
    '--max-txn-ops', '10000',
    '--log-level', 'warn',
    '--logger', 'zap',
  ];
  const child = spawn('etcd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('cannot spawn etcd (is it on PATH?)');
  live.add(child);
  if (p.ownDir) dirs.add(p.dataDir);
  let log = '';
  const onData = (chunk: Buffer): void => { log = (log + chunk.toString('utf8')).slice(-8000); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => { live.delete(child); resolve(); });
  });
  const pid = child.pid;
  return {
    endpoint: clientUrl,
    name: p.name,
    pid,
    dataDir: p.dataDir,
    exited,
    output: () => log,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        // Its own data dir is thrown away: no need for a clean shutdown (a SIGTERMed leader of a cluster that
        // is stopping as a whole waits seconds to transfer its leadership).
        child.kill(p.ownDir ? 'SIGKILL' : 'SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
        await exited;
        clearTimeout(timer);
      }
      if (p.ownDir) {
        await rm(p.dataDir, { recursive: true, force: true });
        dirs.delete(p.dataDir);
      }
    },
  };
}

/** Resolves once GET /health answers {"health":"true"} (the member has a leader); rejects on exit or deadline. */
async function waitHealthy(member: EtcdProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void member.exited.then(() => { exited = true; });
  let last = '';
  while (Date.now() < deadline) {
    if (exited) throw new Error(`etcd ${member.name} exited before it was ready\n${member.output()}`);
    try {
      const res = await fetch(`${member.endpoint}/health`, { signal: AbortSignal.timeout(1000) });
      const body = await res.text();
      last = body;
      if (res.ok && /"health"\s*:\s*"true"/.test(body)) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`etcd ${member.name} not healthy within ${timeoutMs} ms (${last})\n${member.output()}`);
}

/** One etcd member on loopback ports; resolves once it serves. */
export async function startEtcd(opts: { name?: string; dataDir?: string } = {}): Promise<EtcdProcess> {
  const p = await plan(opts.name ?? 'etcd0', opts.dataDir);
  const member = spawnMember(p, `${p.name}=http://127.0.0.1:${p.peerPort}`, `tributary-${process.pid}-${p.peerPort}`);
  try {
    await waitHealthy(member, 15_000);
  } catch (err) {
    member.kill();
    await member.stop();
    throw err;
  }
  return member;
}

/** An n-member etcd cluster on loopback; resolves once every member serves. */
export async function startEtcdCluster(n = 3): Promise<EtcdCluster> {
  const plans: MemberPlan[] = [];
  for (let i = 0; i < n; i++) plans.push(await plan(`etcd${i}`));
  const initialCluster = plans.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(',');
  const token = `tributary-${process.pid}-${plans[0]!.peerPort}`;
  const members = plans.map((p) => spawnMember(p, initialCluster, token));
  const stop = async (): Promise<void> => { await Promise.all(members.map((m) => m.stop())); };
  try {
    await Promise.all(members.map((m) => waitHealthy(m, 20_000)));
  } catch (err) {
    for (const m of members) m.kill();
    await stop();
    throw err;
  }
  return { members, endpoints: members.map((m) => m.endpoint).join(','), stop };
}
