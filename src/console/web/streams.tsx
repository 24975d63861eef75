/** Kafka Streams applications: what each published (its topology, state) joined with its consumer group. */
import { enc, useApi, type StreamsApp, type StreamsApps } from './api';
import { Badge, ErrorBox, PageMain, Table, fmtNum, fmtTime, href, stateBadge } from './ui';
import { useEvery } from './overview';

const appState = (s: string) => <Badge kind={s === 'RUNNING' ? 'ok' : s === 'ERROR' ? 'bad' : s === 'NOT_RUNNING' ? 'muted' : 'warn'}>{s}</Badge>;

export function StreamsPage() {
  const { data, error, loading, reload } = useApi<StreamsApps>('/api/streams');
  useEvery(5000, reload);
  const apps = data?.apps ?? [];
  return (
    <PageMain title="Streams applications">
      <ErrorBox error={error} />
      {data?.partial ? <p class="muted" role="status"><code>__tributary_streams_topologies</code> could not be read to its end in time: some applications may be missing or older than shown.</p> : null}
      <Table num={[3, 4]} label="Streams applications" head={['Application', 'State', 'Group state', 'Members', 'Lag', 'Client id', 'Started']} loading={loading} empty={apps.length === 0}
        emptyText={<>No streams application has published its topology yet. Start a <code>KafkaStreams</code> application (see <code>tributary streams describe --help</code>).</>}>
        {apps.map((a) => (
          <tr key={a.applicationId}>
            <td><a href={href('streams', a.applicationId)}>{a.applicationId}</a></td>
            <td>{appState(a.state)}</td>
            <td>{a.groupState === 'Dead' ? stateBadge(a.groupState) : <a href={href('groups', a.applicationId)}>{stateBadge(a.groupState)}</a>}</td>
            <td class="num">{a.members}</td>
            <td class="num">{a.lag > 0 ? <Badge kind="warn">{fmtNum(a.lag)}</Badge> : fmtNum(a.lag)}</td>
            <td class="mono">{a.clientId}</td>
            <td>{fmtTime(a.startTime)}</td>
          </tr>
        ))}
      </Table>
    </PageMain>
  );
}

export function StreamsAppPage({ id }: { id: string }) {
  const { data, error, reload } = useApi<StreamsApp>(`/api/streams/${enc(id)}`);
  useEvery(5000, reload);
  return (
    <PageMain title={id} crumbs={[['#/streams', 'Streams applications']]}>
      <ErrorBox error={error} />
      {data ? (
        <>
          <dl class="facts">
            <dt>State</dt><dd>{appState(data.state)}</dd>
            <dt>Consumer group</dt><dd><a href={href('groups', data.applicationId)}>{data.applicationId}</a> {stateBadge(data.groupState)}, {data.members} member(s), lag {fmtNum(data.lag)}</dd>
            <dt>Client id</dt><dd class="mono">{data.clientId}</dd>
            <dt>Instance</dt><dd class="mono">{data.instance}</dd>
            <dt>Started</dt><dd>{fmtTime(data.startTime)}</dd>
            <dt>Updated</dt><dd>{fmtTime(data.updateTime)}</dd>
          </dl>
          <h2>Topology</h2>
          <pre class="topology" aria-label="Topology description">{data.description}</pre>
        </>
      ) : null}
    </PageMain>
  );
}
