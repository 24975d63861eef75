/** Brokers and a broker's configs. */
import { enc, useApi, type Broker, type ConfigEntry } from './api';
import { Badge, ErrorBox, PageMain, Table, fmtBytes, href } from './ui';
import { ConfigsTable } from './topics';

export function BrokersPage() {
  const { data, error, loading } = useApi<Broker[]>('/api/brokers');
  const rows = data ?? [];
  return (
    <PageMain title="Brokers">
      <ErrorBox error={error} />
      <Table num={[2, 5]} label="Brokers" head={['Node', 'Host', 'Port', 'Rack', 'Role', 'Log size']} loading={loading} empty={rows.length === 0}>
        {rows.map((b) => (
          <tr key={b.nodeId}>
            <td><a href={href('brokers', String(b.nodeId))}>{b.nodeId}</a></td><td>{b.host}</td><td class="num">{b.port}</td><td>{b.rack ?? '–'}</td>
            <td>{b.isController ? <Badge kind="info">controller</Badge> : null}</td><td class="num">{fmtBytes(b.sizeBytes)}</td>
          </tr>
        ))}
      </Table>
    </PageMain>
  );
}

export function BrokerPage({ id }: { id: string }) {
  const { data, error, loading } = useApi<ConfigEntry[]>(`/api/brokers/${enc(id)}/configs`);
  return (
    <PageMain title={`Broker ${id}`} crumbs={[['#/brokers', 'Brokers']]}>
      <h2>Configs</h2>
      <ErrorBox error={error} />
      <ConfigsTable configs={data} loading={loading} />
    </PageMain>
  );
}
