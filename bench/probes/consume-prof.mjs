// Fill a 4-partition topic with ours, then consume it REPS times with each of CLIENTS (default ours), interleaved:
// msgs/s, client and broker CPU per record, page faults per 1,024 records.
//   node bench/probes/consume-prof.mjs [records=100000] [reps=5]
// CLIENTS=ours,kafkajs,platformatic,tuned (tuned: our Consumer with OPTS='{"maxPartitionFetchBytes":...}'),
// base (BASE_DIST=<another build's dist>: its own client); BROKER_PROF=dir (broker --cpu-prof), CLIENT_PROF=file
// (this process, consume only); BROKER_MALLOC=1 (glibc mmap/trim thresholds raised for the broker); PREWARM=1
// with node --expose-gc (this process frees one 32 MiB buffer first, which raises glibc's dynamic mmap threshold).
import { performance } from 'node:perf_hooks';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRIVERS as D, makePayloads } from '../../dist/bench/clients.js';
const BASE = process.env.BASE_DIST ? (await import(`${process.env.BASE_DIST}/bench/clients.js`)).DRIVERS : {};
import { Consumer } from '../../dist/src/client/consumer.js';
const opts = JSON.parse(process.env.OPTS ?? '{}');
const tuned = (bootstrap) => ({ async consume(topic, count) {
  const consumer = new Consumer({ bootstrapServers: bootstrap, clientId: 'bench-ours', enableAutoCommit: false, ...opts });
  try {
    await consumer.connect();
    const tps = Array.from({ length: 4 }, (_, partition) => ({ topic, partition }));
    consumer.assign(tps); await consumer.seekToBeginning(tps);
    let seen = 0;
    while (seen < count) seen += (await consumer.poll(1000)).length;
  } finally { await consumer.close(); }
}, async close() {} });
const DRIVERS = { ...D, base: BASE.ours, tuned };
import { Admin } from '../../dist/src/client/admin.js';
import { spawnBroker as ownBroker } from '../../dist/test/compat/support/broker-process.js';
// BROKER_DIST=<another build's dist>: run that build's broker instead.
const spawnBroker = process.env.BROKER_DIST ? (await import(`${process.env.BROKER_DIST}/test/compat/support/broker-process.js`)).spawnBroker : ownBroker;
const records = Number(process.argv[2] ?? 100000);
const reps = Number(process.argv[3] ?? 5);
const clients = (process.env.CLIENTS ?? 'ours').split(',');
const size = Number(process.env.SIZE ?? 1024);
if (process.env.BROKER_MALLOC) { process.env.MALLOC_MMAP_THRESHOLD_ = '134217728'; process.env.MALLOC_TRIM_THRESHOLD_ = '1073741824'; }
const work = mkdtempSync(join(tmpdir(), 'client1k-cprof-'));
const nodeArgs = process.env.BROKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BROKER_PROF}`] : [];
const broker = await spawnBroker(join(work, 'data'), { settings: { 'num.partitions': '4', 'group.initial.rebalance.delay.ms': '0' }, nodeArgs });
const cpu = () => { const f = readFileSync(`/proc/${broker.pid}/stat`, 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };
const bflt = () => Number(readFileSync(`/proc/${broker.pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]);
const admin = new Admin({ bootstrapServers: broker.address, clientId: 'a' });
await admin.connect();
await admin.createTopics([{ name: 't', numPartitions: 4 }]);
const filler = DRIVERS.ours(broker.address);
await filler.produceBatched('t', makePayloads(size), records);
await filler.close();
if (process.env.PREWARM) { let b = Buffer.allocUnsafeSlow(32 << 20); b.fill(1); b = null; globalThis.gc(); globalThis.gc(); }
const res = {};
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
const session = process.env.CLIENT_PROF ? new Session() : null;
if (session) { session.connect(); await session.post('Profiler.enable'); await session.post('Profiler.setSamplingInterval', { interval: 200 }); await session.post('Profiler.start'); }
for (let i = 0; i < reps; i++) for (const client of clients) {
  const d = DRIVERS[client](broker.address);
  const c0 = process.cpuUsage(); const b0 = cpu(); const f0 = process.resourceUsage().minorPageFault; const bf0 = bflt(); const t0 = performance.now();
  await d.consume('t', records);
  const ms = performance.now() - t0; const c = process.cpuUsage(c0); const b = cpu() - b0; const flt = process.resourceUsage().minorPageFault - f0; const bf = bflt() - bf0;
  await d.close();
  (res[client] ??= []).push({ rate: Math.round(records / ms * 1000), cli: +((c.user + c.system) / records).toFixed(2), brk: +(b * 1e6 / records).toFixed(2), ms: Math.round(ms), cf: +(flt * 1024 / records).toFixed(1), bf: +(bf * 1024 / records).toFixed(1) });
}
if (session) { const { profile } = await session.post('Profiler.stop'); writeFileSync(process.env.CLIENT_PROF, JSON.stringify(profile)); }
await admin.close(); await broker.stop(); rmSync(work, { recursive: true, force: true });
const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
for (const [c, rs] of Object.entries(res)) console.log(c.padEnd(13), 'median', med(rs.map((r) => r.rate)), 'msg/s client', med(rs.map((r) => r.cli)), 'us/rec broker', med(rs.map((r) => r.brk)), 'us/rec; faults per 1024 rec client', med(rs.map((r) => r.cf)), 'broker', med(rs.map((r) => r.bf)), '; all', JSON.stringify(rs.map((r) => r.rate)));
