/** The experiment's HTML reports, when the console runs with --reports-dir. */
import { enc, useApi, type Report } from './api';
import { ErrorBox, PageMain, Table } from './ui';

export function ReportsPage() {
  const { data, error, loading } = useApi<Report[]>('/api/reports');
  const rows = data ?? [];
  return (
    <PageMain title="Reports">
      <ErrorBox error={error} />
      {data && rows.length === 0 ? (
        <div class="notice"><p>No reports. Start the console with <code>--reports-dir DIR</code> to list the experiment's HTML reports here.</p></div>
      ) : (
        <Table label="Reports" head={['Report', 'Path']} loading={loading} empty={rows.length === 0}>
          {rows.map((r) => (
            <tr key={r.name}><td><a href={`/api/reports/${enc(r.name)}`} target="_blank" rel="noopener noreferrer">{r.name}</a></td><td class="mono">{r.path}</td></tr>
          ))}
        </Table>
      )}
    </PageMain>
  );
}
