// node bench/probes/framing.mjs — framing only: a server writes N frames of SIZE bytes as fast as the client reads; the client frames them
// the old way ('data' + Buffer.concat) or with FrameReader (onread). CPU and faults of this process per MiB.
import { performance } from 'node:perf_hooks';
import net from 'node:net';
import { FrameReader } from '../../dist/src/client/frame-reader.js';
const SIZE = Number(process.env.SIZE ?? 4 << 20), N = Number(process.env.N ?? 100);
const frame = Buffer.alloc(4 + SIZE, 7); frame.writeInt32BE(SIZE, 0);
const server = net.createServer((s) => { s.on('data', () => { s.write(frame); }); });
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const port = server.address().port;
async function run(mode) {
  let got = 0, resolveDone; const done = new Promise((r) => (resolveDone = r)); let sock; const keep = [];
  const onFrame = (f) => { got++; keep.push(f); if (keep.length > 4) keep.shift(); if (got < N) sock.write('x'); else resolveDone(); return true; };
  if (mode === 'reader') {
    const reader = new FrameReader(1 << 30); reader.onFrame = onFrame;
    sock = net.connect({ host: '127.0.0.1', port, onread: reader.onread });
  } else {
    sock = net.connect({ host: '127.0.0.1', port }); let chunks = [], buffered = 0;
    sock.on('data', (c) => { chunks.push(c); buffered += c.length; while (buffered >= 4) { const head = chunks[0].length >= 4 ? chunks[0] : (chunks = [Buffer.concat(chunks, buffered)])[0]; const size = head.readInt32BE(0); if (buffered < 4 + size) return; const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, buffered); const f = buf.subarray(4, 4 + size); const rest = buf.subarray(4 + size); chunks = rest.length ? [rest] : []; buffered = rest.length; onFrame(f); } });
  }
  await new Promise((r) => sock.once('connect', r));
  const c0 = process.cpuUsage(), f0 = process.resourceUsage().minorPageFault, t0 = performance.now();
  sock.write('x'); await done;
  const ms = performance.now() - t0, c = process.cpuUsage(c0), f = process.resourceUsage().minorPageFault - f0;
  sock.destroy();
  const mib = N * SIZE / 1048576;
  return { mode, cpuUsPerMiB: Math.round((c.user + c.system) / mib), faultsPerMiB: +(f / mib).toFixed(1), wallMsPerMiB: +(ms / mib).toFixed(3) };
}
const res = { concat: [], reader: [] };
for (let i = 0; i < 7; i++) for (const m of i % 2 ? ['reader', 'concat'] : ['concat', 'reader']) res[m].push(await run(m));
server.close();
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
for (const [m, rs] of Object.entries(res)) console.log(m.padEnd(7), 'cpu us/MiB', med(rs.map((r) => r.cpuUsPerMiB)), 'faults/MiB', med(rs.map((r) => r.faultsPerMiB)), 'wall ms/MiB', med(rs.map((r) => r.wallMsPerMiB)), ' all cpu', rs.map((r) => r.cpuUsPerMiB).join(','));
