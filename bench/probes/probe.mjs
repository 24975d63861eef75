// What each client sends and what it costs, outside the timed bench.
//   node bench/probes/probe.mjs count [rounds] [records] [ops]   through a counting proxy (the broker advertises
//       it): requests per API, Produce size / partitions / batches / records per batch / acks / codec / in-flight
//       depth, Fetch sizes asked and answered
//   node bench/probes/probe.mjs time [rounds] [records] [ops]    direct: msgs/s, client and broker CPU and page
//       faults per record (ops: produceBatched,produceSingle,consume; CLIENTS=ours,kafkajs,platformatic[,base];
//       SIZE=1024; BASE_DIST=<another build's dist> adds 'base', that build's own client)
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DRIVERS as D, makePayloads } from '../../dist/bench/clients.js';
const BASE = process.env.BASE_DIST ? (await import(`${process.env.BASE_DIST}/bench/clients.js`)).DRIVERS : {};
const DRIVERS = { ...D, base: BASE.ours };
import { Admin } from '../../dist/src/client/admin.js';
import { spawnBroker } from '../../dist/test/compat/support/broker-process.js';
import { Reader } from '../../dist/src/protocol/primitives/reader.js';
import { RequestHeader } from '../../dist/src/protocol/generated/request-header.js';
import { requestHeaderVersion } from '../../dist/src/protocol/generated/header-versions.js';
import { ProduceRequest } from '../../dist/src/protocol/generated/produce-request.js';
import { FetchRequest } from '../../dist/src/protocol/generated/fetch-request.js';

const mode = process.argv[2] ?? 'time';
const rounds = Number(process.argv[3] ?? 3);
const records = Number(process.argv[4] ?? 100000);
const ops = (process.argv[5] ?? 'produceBatched,consume').split(',');
const clients = (process.env.CLIENTS ?? 'ours,kafkajs,platformatic').split(',');
const size = Number(process.env.SIZE ?? 1024);
const PARTITIONS = 4;

function freePort() {
  return new Promise((resolve) => { const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

let label = 'setup';
const stats = new Map();
function st() {
  let s = stats.get(label);
  if (!s) stats.set(label, (s = { apis: {}, produce: { reqs: 0, bytes: 0, partitions: 0, batches: 0, records: 0, batchBytes: 0, acks: new Set(), codecs: new Set(), inflight: [] }, fetch: { reqs: 0, partitions: 0, maxBytes: new Set(), partMax: new Set(), minBytes: new Set(), maxWait: new Set(), respBytes: 0, resps: 0, inflight: [] } }));
  return s;
}
const API = { 0: 'Produce', 1: 'Fetch' };

function startProxy(port, upstreamPort) {
  return new Promise((resolve) => {
    const server = net.createServer((c) => {
      const up = net.connect(upstreamPort, '127.0.0.1');
      c.setNoDelay(true); up.setNoDelay(true);
      const pendingApis = []; // api keys of requests not yet answered
      let inbuf = Buffer.alloc(0), outbuf = Buffer.alloc(0);
      c.on('data', (d) => {
        up.write(d);
        inbuf = Buffer.concat([inbuf, d]);
        while (inbuf.length >= 4) {
          const n = inbuf.readInt32BE(0);
          if (inbuf.length < 4 + n) break;
          const frame = inbuf.subarray(4, 4 + n);
          inbuf = inbuf.subarray(4 + n);
          const apiKey = frame.readInt16BE(0), ver = frame.readInt16BE(2);
          const s = st();
          const name = API[apiKey] ?? String(apiKey);
          s.apis[name] = (s.apis[name] ?? 0) + 1;
          const inflight = pendingApis.length;
          pendingApis.push(apiKey);
          const r = new Reader(frame);
          RequestHeader.decode(r, requestHeaderVersion(apiKey, ver));
          if (apiKey === 0) {
            const req = ProduceRequest.decode(r, ver);
            const p = s.produce;
            p.reqs++; p.bytes += n; p.acks.add(req.acks); p.inflight.push(inflight);
            for (const t of req.topicData) for (const pd of t.partitionData) {
              p.partitions++;
              const b = pd.records;
              let pos = 0;
              while (pos + 61 <= b.length) {
                const len = b.readInt32BE(pos + 8) + 12;
                p.batches++; p.batchBytes += len; p.records += b.readInt32BE(pos + 57);
                p.codecs.add(b.readInt16BE(pos + 21) & 7);
                pos += len;
              }
            }
          } else if (apiKey === 1) {
            const req = FetchRequest.decode(r, ver);
            const f = s.fetch;
            f.reqs++; f.inflight.push(inflight); f.maxBytes.add(req.maxBytes); f.minBytes.add(req.minBytes); f.maxWait.add(req.maxWaitMs);
            for (const t of req.topics) for (const pp of t.partitions) { f.partitions++; f.partMax.add(pp.partitionMaxBytes); }
          }
        }
      });
      up.on('data', (d) => {
        c.write(d);
        outbuf = Buffer.concat([outbuf, d]);
        while (outbuf.length >= 4) {
          const n = outbuf.readInt32BE(0);
          if (outbuf.length < 4 + n) break;
          outbuf = outbuf.subarray(4 + n);
          const api = pendingApis.shift();
          if (api === 1) { const f = st().fetch; f.resps++; f.respBytes += n; }
        }
      });
      const end = () => { c.destroy(); up.destroy(); };
      c.on('error', end); up.on('error', end); c.on('close', end); up.on('close', end);
    });
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

function brokerFaults(pid) { return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[7]); }
function brokerCpu(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime+stime, seconds
}

const work = mkdtempSync(join(tmpdir(), 'client1k-probe-'));
const brokerPort = await freePort();
const proxyPort = mode === 'count' ? await freePort() : brokerPort;
const settings = { 'num.partitions': String(PARTITIONS), 'group.initial.rebalance.delay.ms': '0', listeners: `PLAINTEXT://127.0.0.1:${brokerPort}` };
if (mode === 'count') settings['advertised.listeners'] = `PLAINTEXT://127.0.0.1:${proxyPort}`;
const nodeArgs = process.env.BROKER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BROKER_PROF}`] : [];
const broker = await spawnBroker(join(work, 'data'), { settings, nodeArgs });
const proxy = mode === 'count' ? await startProxy(proxyPort, brokerPort) : null;
const bootstrap = `127.0.0.1:${proxyPort}`;
const admin = new Admin({ bootstrapServers: bootstrap, clientId: 'probe-admin' });
await admin.connect();
const payloads = makePayloads(size);
const results = [];
try {
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? clients : [...clients].reverse();
    for (const client of order) {
      const topic = `probe-${client}-${round}`;
      await admin.createTopics([{ name: topic, numPartitions: PARTITIONS }]);
      const driver = DRIVERS[client](bootstrap);
      try {
        for (const op of ops) {
          label = `${client} ${op}`;
          const reps = op === 'consume' ? 3 : 1;
          for (let i = 0; i < reps; i++) {
            const c0 = process.cpuUsage(); const b0 = brokerCpu(broker.pid); const f0 = process.resourceUsage().minorPageFault; const bf0 = brokerFaults(broker.pid); const t0 = performance.now();
            if (op === 'consume') await driver.consume(topic, records);
            else await driver[op](topic, payloads, records);
            const ms = performance.now() - t0; const c = process.cpuUsage(c0); const b = brokerCpu(broker.pid) - b0; const flt = process.resourceUsage().minorPageFault - f0; const bflt = brokerFaults(broker.pid) - bf0;
            const row = { round, client, op, msgsPerSec: Math.round(records / ms * 1000), clientCpuUsPerRec: +(((c.user + c.system) / records).toFixed(2)), brokerCpuUsPerRec: +((b * 1e6 / records).toFixed(2)), wallUsPerRec: +((ms * 1000 / records).toFixed(2)), faultsPerMiB: +((flt * 1048576 / (records * size)).toFixed(1)), brokerFaultsPerMiB: +((bflt * 1048576 / (records * size)).toFixed(1)) };
            results.push(row);
            console.log(JSON.stringify(row));
          }
        }
      } finally { await driver.close(); }
      label = 'setup';
    }
  }
} finally {
  await admin.close();
  proxy?.close();
  await broker.stop();
  rmSync(work, { recursive: true, force: true });
}
if (mode === 'count') {
  for (const [l, s] of stats) {
    if (l === 'setup') continue;
    const p = s.produce, f = s.fetch;
    const infl = (a) => { if (!a.length) return '-'; const h = {}; for (const x of a) h[x] = (h[x] ?? 0) + 1; return JSON.stringify(h); };
    console.log(`\n== ${l}: apis ${JSON.stringify(s.apis)}`);
    if (p.reqs) console.log(` produce: reqs ${p.reqs}, avg req ${(p.bytes / p.reqs / 1024).toFixed(1)} KiB, partitions/req ${(p.partitions / p.reqs).toFixed(2)}, batches/partition ${(p.batches / p.partitions).toFixed(2)}, records/batch ${(p.records / p.batches).toFixed(1)}, batch ${(p.batchBytes / p.batches / 1024).toFixed(1)} KiB, acks ${[...p.acks]}, codecs ${[...p.codecs]}, in flight at send ${infl(p.inflight)}`);
    if (f.reqs) console.log(` fetch: reqs ${f.reqs}, partitions/req ${(f.partitions / f.reqs).toFixed(2)}, maxBytes ${[...f.maxBytes]}, partitionMaxBytes ${[...f.partMax]}, minBytes ${[...f.minBytes]}, maxWait ${[...f.maxWait]}, avg response ${(f.respBytes / Math.max(1, f.resps) / 1024).toFixed(1)} KiB over ${f.resps}, in flight at send ${infl(f.inflight)}`);
  }
}
const med = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
console.log('\nmedians:');
for (const op of ops) for (const client of clients) {
  const rs = results.filter((r) => r.client === client && r.op === op);
  console.log(`${op.padEnd(15)} ${client.padEnd(13)} ${String(med(rs.map((r) => r.msgsPerSec))).padStart(8)} msg/s  client ${med(rs.map((r) => r.clientCpuUsPerRec))} us/rec  broker ${med(rs.map((r) => r.brokerCpuUsPerRec))} us/rec  wall ${med(rs.map((r) => r.wallUsPerRec))} us/rec  client faults/MiB ${med(rs.map((r) => r.faultsPerMiB))}  broker faults/MiB ${med(rs.map((r) => r.brokerFaultsPerMiB))}`);
}
