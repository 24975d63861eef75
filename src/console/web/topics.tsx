/** Topics: the list (search, create, delete) and a topic's page (partitions, consumers, configs, messages). */
import { useState } from 'preact/hooks';
import { del, enc, post, put, toApiError, useApi, type ConfigEntry, type TopicDetail, type TopicRow } from './api';
import { Badge, ConfirmDelete, Dialog, ErrorBox, PageMain, Table, Tabs, fmtBytes, fmtNum, href, stateBadge, useSession, useSort } from './ui';
import { MessageBrowser, ProduceDialog } from './messages';

export function TopicsPage() {
  const { readOnly } = useSession();
  const [internal, setInternal] = useState(false);
  const { data, error, loading, reload } = useApi<TopicRow[]>(`/api/topics${internal ? '?internal=true' : ''}`);
  const [q, setQ] = useState('');
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | undefined>();
  const { sort, apply, toggle } = useSort<TopicRow>({ col: 0, desc: false }, (t, col) => [t.name, t.partitions, t.replicationFactor, t.underReplicated, t.sizeBytes, t.messages][col] ?? t.name);
  const rows = apply((data ?? []).filter((t) => t.name.toLowerCase().includes(q.trim().toLowerCase())));
  return (
    <PageMain title="Topics" actions={readOnly ? null : <button type="button" class="primary" onClick={() => setCreating(true)}>Create topic</button>}>
      <div class="toolbar">
        <label class="search">
          <span class="sr-only">Search topics</span>
          <input type="search" placeholder="Search topics (press /)" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <label class="check"><input type="checkbox" checked={internal} onChange={(e) => setInternal(e.currentTarget.checked)} /> Show internal topics</label>
        <span class="muted">{data ? `${rows.length} of ${data.length}` : ''}</span>
      </div>
      <ErrorBox error={error} />
      <Table num={[1, 2, 3, 4, 5]} sortable={[0, 1, 2, 3, 4, 5]} sort={sort} onSort={toggle} label="Topics" head={['Name', 'Partitions', 'Replication', 'Under-replicated', 'Size', 'Messages', readOnly ? '' : 'Actions']} loading={loading} empty={rows.length === 0}>
        {rows.map((t) => (
          <tr key={t.name}>
            <td><a href={href('topics', t.name)}>{t.name}</a> {t.internal ? <Badge kind="muted">internal</Badge> : null}</td>
            <td class="num">{fmtNum(t.partitions)}</td>
            <td class="num">{t.replicationFactor}</td>
            <td class="num">{t.underReplicated > 0 ? <Badge kind="warn">{t.underReplicated}</Badge> : '0'}</td>
            <td class="num">{fmtBytes(t.sizeBytes)}</td>
            <td class="num">{fmtNum(t.messages)}</td>
            <td>{readOnly ? null : <button type="button" class="small danger-text" onClick={() => setDeleting(t.name)} aria-label={`Delete topic ${t.name}`}>Delete</button>}</td>
          </tr>
        ))}
      </Table>
      {creating ? <CreateTopicDialog onClose={() => setCreating(false)} onCreated={(name) => { setCreating(false); location.hash = href('topics', name); }} /> : null}
      {deleting ? <ConfirmDelete what="topic" name={deleting} onClose={() => setDeleting(undefined)} onConfirm={async () => { await del(`/api/topics/${enc(deleting)}`); reload(); }} /> : null}
    </PageMain>
  );
}

/** Parses `key=value` lines (blank lines and `#` comments skipped). */
export function parseConfigLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`"${line}" is not key=value`);
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

function CreateTopicDialog({ onClose, onCreated }: { onClose: () => void; onCreated: (name: string) => void }) {
  const [name, setName] = useState('');
  const [partitions, setPartitions] = useState('1');
  const [rf, setRf] = useState('1');
  const [configs, setConfigs] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const res = await post<{ name: string }>('/api/topics', { name: name.trim(), partitions: Number(partitions), replicationFactor: Number(rf), configs: parseConfigLines(configs) });
      onCreated(res?.name ?? name.trim());
    } catch (err) { setError(toApiError(err)); setBusy(false); }
  };
  return (
    <Dialog title="Create topic" onClose={onClose}>
      <form onSubmit={submit}>
        <label>Name<input name="name" value={name} onInput={(e) => setName(e.currentTarget.value)} required autoFocus pattern="[a-zA-Z0-9._\-]+" maxLength={249} autoComplete="off" /></label>
        <div class="row">
          <label>Partitions<input name="partitions" type="number" min={1} value={partitions} onInput={(e) => setPartitions(e.currentTarget.value)} required /></label>
          <label>Replication factor<input name="replicationFactor" type="number" min={1} value={rf} onInput={(e) => setRf(e.currentTarget.value)} required /></label>
        </div>
        <label>Configs <span class="muted">(one key=value a line, e.g. cleanup.policy=compact)</span>
          <textarea name="configs" rows={4} value={configs} onInput={(e) => setConfigs(e.currentTarget.value)} spellcheck={false} />
        </label>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary" disabled={busy}>Create</button>
        </div>
      </form>
    </Dialog>
  );
}

const TOPIC_TABS: [string, string][] = [['partitions', 'Partitions'], ['consumers', 'Consumers'], ['configs', 'Configs'], ['messages', 'Messages']];

export function TopicPage({ name, tab }: { name: string; tab: string }) {
  const { readOnly } = useSession();
  const { data, error, loading, reload } = useApi<TopicDetail>(`/api/topics/${enc(name)}`);
  const [dialog, setDialog] = useState<'produce' | 'partitions' | 'delete' | undefined>();
  const base = href('topics', name);
  const actions = readOnly ? null : (
    <>
      <button type="button" class="primary" onClick={() => setDialog('produce')}>Produce message</button>
      <button type="button" onClick={() => setDialog('partitions')}>Add partitions</button>
      <button type="button" class="danger" onClick={() => setDialog('delete')}>Delete topic</button>
    </>
  );
  return (
    <PageMain title={name} crumbs={[['#/topics', 'Topics']]} actions={actions}>
      <Tabs base={base} current={tab} tabs={TOPIC_TABS} />
      <ErrorBox error={error} />
      {tab === 'partitions' ? <PartitionsTab data={data} loading={loading} /> : null}
      {tab === 'consumers' ? <ConsumersTab data={data} loading={loading} /> : null}
      {tab === 'configs' ? <ConfigsTable configs={data?.configs} loading={loading} editPath={readOnly ? undefined : `/api/topics/${enc(name)}/configs`} onSaved={reload} /> : null}
      {tab === 'messages' ? <MessageBrowser topic={name} partitions={data?.partitions.map((p) => p.partition) ?? []} /> : null}
      {dialog === 'produce' ? <ProduceDialog topic={name} partitions={data?.partitions.length ?? 0} onClose={() => setDialog(undefined)} onProduced={reload} /> : null}
      {dialog === 'partitions' ? <AddPartitionsDialog topic={name} current={data?.partitions.length ?? 0} onClose={() => setDialog(undefined)} onDone={reload} /> : null}
      {dialog === 'delete' ? <ConfirmDelete what="topic" name={name} onClose={() => setDialog(undefined)} onConfirm={async () => { await del(`/api/topics/${enc(name)}`); location.hash = '#/topics'; }} /> : null}
    </PageMain>
  );
}

function PartitionsTab({ data, loading }: { data: TopicDetail | undefined; loading: boolean }) {
  const parts = data?.partitions ?? [];
  return (
    <Table num={[0, 1, 4, 5, 6, 7]} label="Partitions" head={['Partition', 'Leader', 'Replicas', 'In-sync replicas', 'Start offset', 'End offset', 'Messages', 'Size']} loading={loading} empty={parts.length === 0}>
      {parts.map((p) => (
        <tr key={p.partition}>
          <td class="num">{p.partition}</td>
          <td class="num">{p.leader < 0 ? <Badge kind="bad">offline</Badge> : <a href={href('brokers', String(p.leader))}>{p.leader}</a>}</td>
          <td>{p.replicas.join(', ')}</td>
          <td>{p.isr.join(', ')} {p.isr.length < p.replicas.length ? <Badge kind="warn">under-replicated</Badge> : null}</td>
          <td class="num">{fmtNum(p.startOffset)}</td>
          <td class="num">{fmtNum(p.endOffset)}</td>
          <td class="num">{fmtNum(p.endOffset - p.startOffset)}</td>
          <td class="num">{fmtBytes(p.sizeBytes)}</td>
        </tr>
      ))}
    </Table>
  );
}

function ConsumersTab({ data, loading }: { data: TopicDetail | undefined; loading: boolean }) {
  const rows = data?.consumers ?? [];
  return (
    <Table num={[2]} label="Consumer groups reading this topic" head={['Group', 'State', 'Lag']} loading={loading} empty={rows.length === 0}>
      {rows.map((c) => (
        <tr key={c.groupId}><td><a href={href('groups', c.groupId)}>{c.groupId}</a></td><td>{stateBadge(c.state)}</td><td class="num">{fmtNum(c.lag)}</td></tr>
      ))}
    </Table>
  );
}

/** A config table with search; editable (set or reset to default) when `editPath` is given. */
export function ConfigsTable({ configs, loading, editPath, onSaved }: { configs: ConfigEntry[] | undefined; loading: boolean; editPath?: string; onSaved?: () => void }) {
  const [q, setQ] = useState('');
  const [editing, setEditing] = useState<ConfigEntry | undefined>();
  const rows = (configs ?? []).filter((c) => c.name.includes(q.trim().toLowerCase()));
  return (
    <>
      <div class="toolbar">
        <label class="search"><span class="sr-only">Search configs</span>
          <input type="search" placeholder="Search configs (press /)" value={q} onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
      </div>
      <Table label="Configs" head={['Name', 'Value', 'Source', editPath ? 'Actions' : '']} loading={loading} empty={rows.length === 0}>
        {rows.map((c) => (
          <tr key={c.name} class={c.source === 'DEFAULT_CONFIG' ? '' : 'overridden'}>
            <td><code>{c.name}</code></td>
            <td class="value">{c.sensitive ? <span class="muted">(sensitive)</span> : c.value === null ? <span class="muted">null</span> : c.value}</td>
            <td><span class="muted">{c.source}</span></td>
            <td>{editPath && !c.readOnly ? <button type="button" class="small" onClick={() => setEditing(c)} aria-label={`Edit ${c.name}`}>Edit</button> : null}</td>
          </tr>
        ))}
      </Table>
      {editing && editPath ? <EditConfigDialog entry={editing} path={editPath} onClose={() => setEditing(undefined)} onSaved={() => { setEditing(undefined); onSaved?.(); }} /> : null}
    </>
  );
}

function EditConfigDialog({ entry, path, onClose, onSaved }: { entry: ConfigEntry; path: string; onClose: () => void; onSaved: () => void }) {
  const [value, setValue] = useState(entry.sensitive ? '' : entry.value ?? '');
  const [error, setError] = useState<Error | undefined>();
  const save = async (body: unknown) => {
    try { await put(path, body); onSaved(); } catch (err) { setError(toApiError(err)); }
  };
  return (
    <Dialog title={`Edit ${entry.name}`} onClose={onClose}>
      <form onSubmit={(e) => { e.preventDefault(); void save({ set: { [entry.name]: value }, delete: [] }); }}>
        <label>Value<input name="value" value={value} onInput={(e) => setValue(e.currentTarget.value)} autoFocus autoComplete="off" /></label>
        <p class="muted">Current source: {entry.source}</p>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          {entry.source !== 'DEFAULT_CONFIG' ? <button type="button" onClick={() => void save({ set: {}, delete: [entry.name] })}>Reset to default</button> : null}
          <button type="submit" class="primary">Save</button>
        </div>
      </form>
    </Dialog>
  );
}

function AddPartitionsDialog({ topic, current, onClose, onDone }: { topic: string; current: number; onClose: () => void; onDone: () => void }) {
  const [count, setCount] = useState(String(current + 1));
  const [error, setError] = useState<Error | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try { await post(`/api/topics/${enc(topic)}/partitions`, { count: Number(count) }); onDone(); onClose(); } catch (err) { setError(toApiError(err)); }
  };
  return (
    <Dialog title="Add partitions" onClose={onClose}>
      <form onSubmit={submit}>
        <p>The topic has {current} partitions. Keys map to partitions by hash, so adding partitions moves keys to other partitions.</p>
        <label>New total partition count<input name="count" type="number" min={current + 1} value={count} onInput={(e) => setCount(e.currentTarget.value)} required autoFocus /></label>
        <ErrorBox error={error} />
        <div class="actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" class="primary">Add partitions</button>
        </div>
      </form>
    </Dialog>
  );
}
