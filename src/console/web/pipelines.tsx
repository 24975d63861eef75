/** Connect pipelines: sources (their stored positions in connect-offsets) and sinks (their consumer groups and lag). */
import { useApi, type Pipelines } from './api';
import { Badge, ErrorBox, PageMain, Table, fmtNum, fmtTime, href, stateBadge } from './ui';
import { useEvery } from './overview';

export function PipelinesPage() {
  const { data, error, loading, reload } = useApi<Pipelines>('/api/pipelines');
  useEvery(5000, reload);
  const sources = data?.sources ?? [];
  const sinks = data?.sinks ?? [];
  return (
    <PageMain title="Pipelines">
      <ErrorBox error={error} />
      <h2>Sources</h2>
      {data?.sourcesPartial ? <p class="muted" role="status">connect-offsets could not be read to its end in time: some positions may be older than shown.</p> : null}
      <Table num={[2]} label="Source pipelines" head={['Pipeline', 'Input', 'Position (records)', 'Read to end', 'Updated']} loading={loading} empty={sources.length === 0}
        emptyText={<>No positions in <code>connect-offsets</code> yet. Run a source: <code>tributary connect --topic users --source-type csv --source-path users.csv</code></>}>
        {sources.map((s) => (
          <tr key={`${s.pipeline}\u0000${s.input}`}>
            <td>{s.pipeline}</td>
            <td class="mono">{s.input}</td>
            <td class="num">{fmtNum(s.position)}</td>
            <td>{s.eof ? <Badge kind="ok">yes</Badge> : <Badge kind="muted">no</Badge>}</td>
            <td>{fmtTime(s.updated)}</td>
          </tr>
        ))}
      </Table>
      <h2>Sinks</h2>
      <Table num={[4, 5]} label="Sink pipelines" head={['Pipeline', 'Group', 'State', 'Topics', 'Members', 'Lag']} loading={loading} empty={sinks.length === 0}
        emptyText={<>No <code>connect-*</code> groups yet. Run a sink: <code>tributary connect --topic users --sink-type jsonl --sink-url users.jsonl</code></>}>
        {sinks.map((s) => (
          <tr key={s.groupId}>
            <td>{s.pipeline}</td>
            <td><a href={href('groups', s.groupId)}>{s.groupId}</a></td>
            <td>{stateBadge(s.state)}</td>
            <td>{s.topics.map((t, i) => <span key={t}>{i > 0 ? ', ' : ''}<a href={href('topics', t)}>{t}</a></span>)}</td>
            <td class="num">{s.members}</td>
            <td class="num">{s.lag > 0 ? <Badge kind="warn">{fmtNum(s.lag)}</Badge> : fmtNum(s.lag)}</td>
          </tr>
        ))}
      </Table>
    </PageMain>
  );
}
