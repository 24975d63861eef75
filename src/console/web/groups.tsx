/** Consumer groups: the list, and a group's page (members, lag per partition and over time, reset, delete). */
import { useMemo, useState } from 'preact/hooks';
import { del, enc, post, toApiError, useApi, useOnTick, type GroupDetail, type GroupRow, type LagPoint } from './api';
import { Badge, Chart, ConfirmDelete, Dialog, ErrorBox, PageMain, Table, color, fmtNum, href, stateBadge, useSession, useSort } from './ui';
import { useEvery } from './overview';

export function GroupsPage() {
  const { data, error, loading, reload } = useApi<GroupRow[]>('/api/groups');
  useEvery(5000, reload);
  const [q, setQ] = useState('');
  const { sort, apply, toggle } = useSort<GroupRow>({ col: 0, desc: false }, (g, col) => [g.groupId, g.state, g.type, g.protocol, g.members, g.topics.join(','), g.lag][col] ?? g.groupId);
  const rows = apply((data ?? []).filter((g) => g.groupId.toLowerCase().includes(q.trim().toLowerCase())));
  return (
    <PageMain title="Consumer groups">
      <div class="toolbar">
        <label class="search"><span class="sr-only">Search groups</span>
          <input type="search" placeholder="Search groups (press /)" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <span class="muted">{data ? `${rows.length} of ${data.length}` : ''}</span>
      </div>
      <ErrorBox error={error} />
      <Table num={[4, 6]} sortable={[0, 1, 2, 3, 4, 6]} sort={sort} onSort={toggle} label="Consumer groups" head={['Group', 'State', 'Type', 'Protocol', 'Members', 'Topics', 'Lag']} loading={loading} empty={rows.length === 0}>
        {rows.map((g) => (
          <tr key={g.groupId}>
            <td><a href={href('groups', g.groupId)}>{g.groupId}</a></td>
            <td>{stateBadge(g.state)}</td>
            <td>{g.type}</td>
            <td>{g.protocol || <span class="muted">–</span>}</td>
            <td class="num">{g.members}</td>
            <td>{g.topics.map((t, i) => <span key={t}>{i > 0 ? ', ' : ''}<a href={href('topics', t)}>{t}</a></span>)}</td>
            <td class="num">{g.lag > 0 ? <Badge kind="warn">{fmtNum(g.lag)}</Badge> : fmtNum(g.lag)}</td>
          </tr>
        ))}
      </Table>
    </PageMain>
  );
}

const MAX_PARTITION_SERIES = 6;

function lagSeries(history: LagPoint[], extra: { time: number; lag: number }[]) {
  const keys = new Map<string, number>();
  for (const p of history) for (const l of p.lag) { const k = `${l.topic}-${l.partition}`; keys.set(k, Math.max(keys.get(k) ?? 0, l.lag)); }
  const top = [...keys.entries()].sort((a, b) => b[1] - a[1]).slice(0, MAX_PARTITION_SERIES).map(([k]) => k);
  const last = history.length ? history[history.length - 1]!.time : 0;
  const later = extra.filter((e) => e.time > last);
  const time = [...history.map((p) => p.time / 1000), ...later.map((e) => e.time / 1000)];
  const total = [...history.map((p) => p.lag.reduce((s, l) => s + l.lag, 0)), ...later.map((e) => e.lag)];
  const per = top.map((k) => [...history.map((p) => p.lag.find((l) => `${l.topic}-${l.partition}` === k)?.lag ?? 0), ...later.map(() => null)]);
  return { labels: ['total', ...top], data: [time, total, ...per] as number[][] };
}

export function GroupPage({ id }: { id: string }) {
  const { readOnly } = useSession();
  const { data, error, loading, reload } = useApi<GroupDetail>(`/api/groups/${enc(id)}`);
  const history = useApi<LagPoint[]>(`/api/groups/${enc(id)}/lag-history`);
  const [live, setLive] = useState<{ time: number; lag: number }[]>([]);
  const [dialog, setDialog] = useState<'reset' | 'delete' | undefined>();
  const [n, setN] = useState(0);
  useOnTick((t) => {
    const g = t.groups.find((x) => x.groupId === id);
    if (g) setLive((l) => [...l.slice(-600), { time: t.time, lag: g.lag }]);
    setN((x) => x + 1);
    if (n % 5 === 4) { reload(); history.reload(); }
  });
  const chart = useMemo(() => lagSeries(history.data ?? [], live), [history.data, live]);
  const offsets = data?.offsets ?? [];
  const totalLag = offsets.reduce((s, o) => s + Math.max(0, o.lag ?? 0), 0);
  const actions = readOnly ? null : (
    <>
      <button type="button" class="primary" onClick={() => setDialog('reset')}>Reset offsets</button>
      <button type="button" class="danger" onClick={() => setDialog('delete')}>Delete group</button>
    </>
  );
  return (
    <PageMain title={id} crumbs={[['#/groups', 'Consumer groups']]} actions={actions}>
      <ErrorBox error={error} />
      <section class="stats" aria-label="Group">
        <div class="stat"><div class="stat-label">State</div><div class="stat-value">{data ? stateBadge(data.state) : '…'}</div></div>
        <div class="stat"><div class="stat-label">Type</div><div class="stat-value">{data?.type ?? '…'}</div></div>
        <div class="stat"><div class="stat-label">Assignor</div><div class="stat-value">{data ? data.protocol || '–' : '…'}</div>{data?.protocolType ? <div class="stat-sub">protocol type {data.protocolType}</div> : null}</div>
        <div class="stat"><div class="stat-label">Coordinator</div><div class="stat-value">{data ? <a href={href('brokers', String(data.coordinator))}>{data.coordinator}</a> : '…'}</div></div>
        <div class="stat"><div class="stat-label">Members</div><div class="stat-value">{data ? data.members.length : '…'}</div></div>
        <div class="stat"><div class="stat-label">Total lag</div><div class="stat-value">{data ? fmtNum(totalLag) : '…'}</div></div>
      </section>
      <Chart title="Lag over time (messages)" series={chart.labels.map((l, i) => ({ label: l, color: color(i) }))} data={chart.data} height={200} />
      <h2>Lag per partition</h2>
      <Table num={[1, 2, 3, 4]} label="Lag per partition" head={['Topic', 'Partition', 'Committed offset', 'End offset', 'Lag']} loading={loading} empty={offsets.length === 0}>
        {offsets.map((o) => (
          <tr key={`${o.topic}-${o.partition}`}>
            <td><a href={href('topics', o.topic)}>{o.topic}</a></td><td class="num">{o.partition}</td>
            <td class="num">{o.committed === null || o.committed < 0 ? <span class="muted">none</span> : fmtNum(o.committed)}</td>
            <td class="num">{fmtNum(o.end)}</td>
            <td class="num">{o.lag !== null && o.lag > 0 ? <Badge kind="warn">{fmtNum(o.lag)}</Badge> : fmtNum(o.lag)}</td>
          </tr>
        ))}
      </Table>
      <h2>Members</h2>
      <Table label="Members" head={['Member', 'Client ID', 'Host', 'Assigned partitions']} loading={loading} empty={(data?.members.length ?? 0) === 0}>
        {data?.members.map((m) => (
          <tr key={m.memberId}>
            <td class="mono small-text">{m.memberId}</td><td>{m.clientId}</td><td>{m.host}</td>
            <td>{m.assignments.map((a) => `${a.topic}: ${a.partitions.join(', ')}`).join('; ') || <span class="muted">none</span>}</td>
          </tr>
        ))}
      </Table>
      {dialog === 'reset' && data ? <ResetDialog group={data} onClose={() => setDialog(undefined)} onDone={() => { reload(); history.reload(); }} /> : null}
      {dialog === 'delete' ? <ConfirmDelete what="consumer group" name={id} onClose={() => setDialog(undefined)} onConfirm={async () => { await del(`/api/groups/${enc(id)}`); location.hash = '#/groups'; }} /> : null}
    </PageMain>
  );
}

function ResetDialog({ group, onClose, onDone }: { group: GroupDetail; onClose: () => void; onDone: () => void }) {
  const topics = [...new Set(group.offsets.map((o) => o.topic))].sort();
  const [topic, setTopic] = useState('');
  const [to, setTo] = useState<'earliest' | 'latest' | 'timestamp' | 'offset'>('earliest');
  const [offset, setOffset] = useState('0');
  const [timestamp, setTimestamp] = useState('');
  const [preview, setPreview] = useState<{ topic: string; partition: number; offset: number }[] | undefined>();
  const [done, setDone] = useState(false);
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const run = async (dryRun: boolean) => {
    setBusy(true);
    setError(undefined);
    try {
      const body: Record<string, unknown> = { to, dryRun };
      if (topic) body.topic = topic;
      if (to === 'offset') body.offset = Number(offset);
      if (to === 'timestamp') body.timestamp = new Date(timestamp).getTime();
      const res = await post<{ offsets: { topic: string; partition: number; offset: number }[] }>(`/api/groups/${enc(group.groupId)}/reset`, body);
      setPreview(res.offsets);
      if (!dryRun) { setDone(true); onDone(); }
    } catch (err) { setError(toApiError(err)); }
    setBusy(false);
  };
  const committed = (t: string, p: number) => group.offsets.find((o) => o.topic === t && o.partition === p)?.committed;
  return (
    <Dialog title="Reset offsets" onClose={onClose} wide>
      <form onSubmit={(e) => { e.preventDefault(); void run(false); }}>
        {group.members.length > 0 ? <p class="warn-text">The group has {group.members.length} active member(s); Kafka refuses to reset the offsets of a group that is not empty. Stop its consumers first.</p> : null}
        <div class="row">
          <label>Topic
            <select name="topic" value={topic} onChange={(e) => { setTopic(e.currentTarget.value); setPreview(undefined); }}>
              <option value="">All topics of the group</option>
              {topics.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </label>
          <label>Reset to
            <select name="to" value={to} onChange={(e) => { setTo(e.currentTarget.value as typeof to); setPreview(undefined); }}>
              <option value="earliest">Earliest</option>
              <option value="latest">Latest</option>
              <option value="timestamp">Timestamp</option>
              <option value="offset">Offset</option>
            </select>
          </label>
          {to === 'offset' ? <label>Offset<input name="offset" type="number" min={0} value={offset} onInput={(e) => setOffset(e.currentTarget.value)} required /></label> : null}
          {to === 'timestamp' ? <label>Time<input name="timestamp" type="datetime-local" step={1} value={timestamp} onInput={(e) => setTimestamp(e.currentTarget.value)} required /></label> : null}
        </div>
        <ErrorBox error={error} />
        <div class="preview" aria-live="polite">
          {preview ? (
            <table aria-label={done ? 'New offsets' : 'Preview of new offsets'}>
              <caption>{done ? 'Offsets reset' : 'Dry run: the offsets a reset would commit'}</caption>
              <thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partition</th><th scope="col" class="num">Current</th><th scope="col" class="num">New</th></tr></thead>
              <tbody>{preview.map((o) => <tr key={`${o.topic}-${o.partition}`}><td>{o.topic}</td><td class="num">{o.partition}</td><td class="num">{committed(o.topic, o.partition) ?? '–'}</td><td class="num">{o.offset}</td></tr>)}</tbody>
            </table>
          ) : <p class="muted">Preview shows the offsets a reset would commit, without committing them.</p>}
        </div>
        <div class="actions">
          <button type="button" onClick={onClose}>{done ? 'Close' : 'Cancel'}</button>
          <button type="button" disabled={busy} onClick={() => void run(true)}>Preview (dry run)</button>
          <button type="submit" class="primary" disabled={busy || done}>Reset offsets</button>
        </div>
      </form>
    </Dialog>
  );
}

