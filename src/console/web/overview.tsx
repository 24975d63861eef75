/** The overview: cluster counts, health badges, throughput and latency charts fed by /api/events. */
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { useApi, useOnTick, useTicks, type Overview, type Tick } from './api';
import { Badge, Chart, ErrorBox, PageMain, Stat, Table, color, fmtBytes, fmtNum, fmtRate, href, useSession } from './ui';

/** Re-fetches every `ms` while the page is open. */
export function useEvery(ms: number, fn: () => void): void {
  useEffect(() => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, [ms, fn]);
}

const TOP_TOPICS = 5;

function throughput(ticks: Tick[]): { labels: string[]; data: number[][] } {
  const totals = new Map<string, number>();
  for (const t of ticks) for (const tp of t.topics) totals.set(tp.name, (totals.get(tp.name) ?? 0) + tp.messagesPerSec);
  const top = [...totals.entries()].filter(([n]) => !n.startsWith('__')).sort((a, b) => b[1] - a[1]).slice(0, TOP_TOPICS).map(([n]) => n);
  const time = ticks.map((t) => t.time / 1000);
  const all = ticks.map((t) => t.topics.reduce((s, tp) => s + tp.messagesPerSec, 0));
  const per = top.map((name) => ticks.map((t) => t.topics.find((tp) => tp.name === name)?.messagesPerSec ?? 0));
  return { labels: ['all topics', ...top], data: [time, all, ...per] };
}

export function OverviewPage() {
  const session = useSession();
  const { data, error, loading, reload } = useApi<Overview>('/api/overview');
  // The counts follow the traffic: at most every 2 s after messages flowed, every 10 s when idle.
  const lastLoad = useRef(Date.now());
  const flowed = useRef(false);
  useOnTick((t) => {
    if (t.topics.some((tp) => tp.messagesPerSec > 0)) flowed.current = true;
    if (Date.now() - lastLoad.current >= (flowed.current ? 2000 : 10_000)) { lastLoad.current = Date.now(); flowed.current = false; reload(); }
  });
  const ticks = useTicks();
  const tp = useMemo(() => throughput(ticks), [ticks]);
  const time = useMemo(() => ticks.map((t) => t.time / 1000), [ticks]);
  const hasMetrics = session.metrics || ticks.some((t) => t.metrics);
  const last = ticks[ticks.length - 1];
  const o = data;
  return (
    <PageMain title="Overview">
      <ErrorBox error={error} />
      <section class="stats stats-5" aria-label="Cluster" aria-busy={loading && !o ? 'true' : 'false'}>
        <Stat label="Brokers" value={o ? fmtNum(o.brokers.length) : '…'} />
        <Stat label="Controller" value={o ? (o.controllerId >= 0 ? <a href={href('brokers', String(o.controllerId))}>{o.controllerId}</a> : 'none') : '…'} />
        <Stat label="Topics" value={o ? fmtNum(o.topicCount) : '…'} />
        <Stat label="Partitions" value={o ? fmtNum(o.partitionCount) : '…'} />
        <Stat label="Under-replicated" value={o ? <Badge kind={o.underReplicatedPartitions > 0 ? 'warn' : 'ok'}>{fmtNum(o.underReplicatedPartitions)}</Badge> : '…'} />
        <Stat label="Offline" value={o ? <Badge kind={o.offlinePartitions > 0 ? 'bad' : 'ok'}>{fmtNum(o.offlinePartitions)}</Badge> : '…'} />
        <Stat label="Consumer groups" value={o ? fmtNum(o.groupCount) : '…'} />
        <Stat label="Size" value={o ? fmtBytes(o.totalSizeBytes) : '…'} />
        <Stat label="Messages" value={o ? fmtNum(o.totalMessages) : '…'} />
        <Stat label="Messages/s" value={last ? fmtRate(last.topics.reduce((s, t) => s + t.messagesPerSec, 0)) : '…'} />
      </section>
      <section class="charts" aria-label="Charts">
        <Chart title="Messages in per second" height={160} series={tp.labels.map((l, i) => ({ label: l, color: color(i) }))} data={tp.data} />
        {hasMetrics ? (
          <Chart title="Request latency p99 (ms)" height={160} data={[time, ticks.map((t) => t.metrics?.produceP99Ms ?? 0), ticks.map((t) => t.metrics?.fetchP99Ms ?? 0)]}
            series={[{ label: 'Produce p99', color: color(0) }, { label: 'Fetch p99', color: color(1) }]} />
        ) : (
          <figure class="chart"><figcaption>Request latency</figcaption>
            <div class="chart-box chart-empty" style={{ minHeight: '194px' }}>
              <p>Latency comes from the broker's metrics endpoint. Start the console with <code>--metrics-url</code> (or the broker with <code>--metrics-port</code>) to see it.</p>
            </div>
          </figure>
        )}
        {hasMetrics ? (
          <Chart title="Bytes per second" unit="B" height={160} data={[time, ticks.map((t) => t.metrics?.bytesInPerSec ?? 0), ticks.map((t) => t.metrics?.bytesOutPerSec ?? 0)]}
            series={[{ label: 'In', color: color(2) }, { label: 'Out', color: color(4) }]} />
        ) : null}
      </section>
      <h2>Brokers</h2>
      <Table label="Brokers" head={['Node', 'Host', 'Port', 'Rack', 'Role']} loading={loading} empty={!o || o.brokers.length === 0}>
        {o?.brokers.map((b) => (
          <tr key={b.nodeId}>
            <td><a href={href('brokers', String(b.nodeId))}>{b.nodeId}</a></td><td>{b.host}</td><td>{b.port}</td><td>{b.rack ?? '–'}</td>
            <td>{b.nodeId === o.controllerId ? <Badge kind="info">controller</Badge> : null}</td>
          </tr>
        ))}
      </Table>
      {o ? <p class="muted">Cluster ID <code>{o.clusterId}</code></p> : null}
    </PageMain>
  );
}
