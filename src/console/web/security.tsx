/** ACLs, SCRAM users and client quotas; a broker without an authorizer answers SECURITY_DISABLED. */
import { useState } from 'preact/hooks';
import { del, enc, post, put, toApiError, useApi, type Acl, type ApiError, type Quota, type ScramUser } from './api';
import { ConfirmDelete, Dialog, ErrorBox, PageMain, Table, useSession } from './ui';

/** The error, or a friendly notice when the cluster has no security configured. */
function SecurityError({ error, what }: { error: ApiError | undefined; what: string }) {
  if (!error) return null;
  if (error.code === 'SECURITY_DISABLED') {
    return (
      <div class="notice" role="status">
        <h2>Security is not enabled</h2>
        <p>The cluster has no authorizer, so there are no {what} to manage. Set <code>authorizer.class.name</code> on the brokers (see the README's security section) and reload this page.</p>
        <p class="muted">{error.message}</p>
      </div>
    );
  }
  return <ErrorBox error={error} />;
}

const RESOURCE_TYPES = ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID', 'DELEGATION_TOKEN', 'USER'];
const OPERATIONS = ['ALL', 'READ', 'WRITE', 'CREATE', 'DELETE', 'ALTER', 'DESCRIBE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'CREATE_TOKENS', 'DESCRIBE_TOKENS'];

export function AclsPage() {
  const { readOnly } = useSession();
  const { data, error, loading, reload } = useApi<Acl[]>('/api/acls');
  const [adding, setAdding] = useState(false);
  const [busy, setBusy] = useState<Error | undefined>();
  const rows = data ?? [];
  const disabled = error?.code === 'SECURITY_DISABLED';
  const remove = async (a: Acl) => {
    try { await del('/api/acls', a); reload(); } catch (err) { setBusy(toApiError(err)); }
  };
  return (
    <PageMain title="ACLs" actions={readOnly || disabled ? null : <button type="button" class="primary" onClick={() => setAdding(true)}>Add ACL</button>}>
      <SecurityError error={error} what="ACLs" />
      <ErrorBox error={busy} />
      {disabled ? null : (
        <Table label="ACLs" head={['Principal', 'Host', 'Resource', 'Pattern', 'Operation', 'Permission', readOnly ? '' : 'Actions']} loading={loading} empty={rows.length === 0}>
          {rows.map((a, i) => (
            <tr key={i}>
              <td class="mono">{a.principal}</td><td>{a.host}</td><td>{a.resourceType} <span class="mono">{a.resourceName}</span></td><td>{a.patternType}</td>
              <td>{a.operation}</td><td>{a.permissionType}</td>
              <td>{readOnly ? null : <button type="button" class="small danger-text" onClick={() => void remove(a)} aria-label={`Delete ACL ${i + 1}`}>Delete</button>}</td>
            </tr>
          ))}
        </Table>
      )}
      {adding ? <AddAclDialog onClose={() => setAdding(false)} onDone={() => { setAdding(false); reload(); }} /> : null}
    </PageMain>
  );
}

function AddAclDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [acl, setAcl] = useState<Acl>({ resourceType: 'TOPIC', resourceName: '', patternType: 'LITERAL', principal: 'User:', host: '*', operation: 'READ', permissionType: 'ALLOW' });
  const [error, setError] = useState<Error | undefined>();
  const set = (k: keyof Acl) => (e: { currentTarget: { value: string } }) => setAcl((a) => ({ ...a, [k]: e.currentTarget.value }));
  const submit = async (e: Event) => {
    e.preventDefault();
    try { await post('/api/acls', acl); onDone(); } catch (err) { setError(toApiError(err)); }
  };
  return (
    <Dialog title="Add ACL" onClose={onClose}>
      <form onSubmit={submit}>
        <label>Principal<input value={acl.principal} onInput={set('principal')} required autoFocus /></label>
        <label>Host<input value={acl.host} onInput={set('host')} required /></label>
        <div class="row">
          <label>Resource type<select value={acl.resourceType} onChange={set('resourceType')}>{RESOURCE_TYPES.map((t) => <option key={t}>{t}</option>)}</select></label>
          <label class="grow">Resource name<input value={acl.resourceName} onInput={set('resourceName')} required /></label>
          <label>Pattern<select value={acl.patternType} onChange={set('patternType')}><option>LITERAL</option><option>PREFIXED</option></select></label>
        </div>
        <div class="row">
          <label>Operation<select value={acl.operation} onChange={set('operation')}>{OPERATIONS.map((t) => <option key={t}>{t}</option>)}</select></label>
          <label>Permission<select value={acl.permissionType} onChange={set('permissionType')}><option>ALLOW</option><option>DENY</option></select></label>
        </div>
        <ErrorBox error={error} />
        <div class="actions"><button type="button" onClick={onClose}>Cancel</button><button type="submit" class="primary">Add</button></div>
      </form>
    </Dialog>
  );
}

export function UsersPage() {
  const { readOnly } = useSession();
  const { data, error, loading, reload } = useApi<ScramUser[]>('/api/users');
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<{ user: string; mechanism: string } | undefined>();
  const rows = data ?? [];
  const disabled = error?.code === 'SECURITY_DISABLED';
  return (
    <PageMain title="Users (SCRAM)" actions={readOnly || disabled ? null : <button type="button" class="primary" onClick={() => setAdding(true)}>Add user</button>}>
      <SecurityError error={error} what="SCRAM users" />
      {disabled ? null : (
        <Table num={[2]} label="SCRAM users" head={['User', 'Mechanism', 'Iterations', readOnly ? '' : 'Actions']} loading={loading} empty={rows.length === 0}>
          {rows.flatMap((u) => u.mechanisms.map((m) => (
            <tr key={`${u.user}-${m.mechanism}`}>
              <td class="mono">{u.user}</td><td>{m.mechanism}</td><td class="num">{m.iterations}</td>
              <td>{readOnly ? null : <button type="button" class="small danger-text" onClick={() => setDeleting({ user: u.user, mechanism: m.mechanism })} aria-label={`Delete ${m.mechanism} credential of ${u.user}`}>Delete</button>}</td>
            </tr>
          )))}
        </Table>
      )}
      {adding ? <AddUserDialog onClose={() => setAdding(false)} onDone={() => { setAdding(false); reload(); }} /> : null}
      {deleting ? <ConfirmDelete what="user" name={deleting.user} onClose={() => setDeleting(undefined)} onConfirm={async () => { await del(`/api/users/${enc(deleting.user)}?mechanism=${enc(deleting.mechanism)}`); reload(); }} /> : null}
    </PageMain>
  );
}

function AddUserDialog({ onClose, onDone }: { onClose: () => void; onDone: () => void }) {
  const [user, setUser] = useState('');
  const [mechanism, setMechanism] = useState('SCRAM-SHA-256');
  const [password, setPassword] = useState('');
  const [iterations, setIterations] = useState('8192');
  const [error, setError] = useState<Error | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    try { await post('/api/users', { user, mechanism, password, iterations: Number(iterations) }); onDone(); } catch (err) { setError(toApiError(err)); }
  };
  return (
    <Dialog title="Add SCRAM user" onClose={onClose}>
      <form onSubmit={submit}>
        <label>User<input value={user} onInput={(e) => setUser(e.currentTarget.value)} required autoFocus autoComplete="off" /></label>
        <div class="row">
          <label>Mechanism<select value={mechanism} onChange={(e) => setMechanism(e.currentTarget.value)}><option>SCRAM-SHA-256</option><option>SCRAM-SHA-512</option></select></label>
          <label>Iterations<input type="number" min={4096} value={iterations} onInput={(e) => setIterations(e.currentTarget.value)} /></label>
        </div>
        <label>Password<input type="password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required autoComplete="new-password" /></label>
        <ErrorBox error={error} />
        <div class="actions"><button type="button" onClick={onClose}>Cancel</button><button type="submit" class="primary">Add</button></div>
      </form>
    </Dialog>
  );
}

const entityText = (q: Quota) => q.entity.map((e) => `${e.type}=${e.name ?? '<default>'}`).join(', ');

export function QuotasPage() {
  const { readOnly } = useSession();
  const { data, error, loading, reload } = useApi<Quota[]>('/api/quotas');
  const [editing, setEditing] = useState<Quota | 'new' | undefined>();
  const rows = data ?? [];
  const disabled = error?.code === 'SECURITY_DISABLED';
  return (
    <PageMain title="Quotas" actions={readOnly || disabled ? null : <button type="button" class="primary" onClick={() => setEditing('new')}>Set quota</button>}>
      <SecurityError error={error} what="quotas" />
      {disabled ? null : (
        <Table label="Client quotas" head={['Entity', 'Values', readOnly ? '' : 'Actions']} loading={loading} empty={rows.length === 0}>
          {rows.map((q) => (
            <tr key={entityText(q)}>
              <td class="mono">{entityText(q)}</td>
              <td>{Object.entries(q.values).map(([k, v]) => `${k}=${v}`).join(', ')}</td>
              <td>{readOnly ? null : <button type="button" class="small" onClick={() => setEditing(q)} aria-label={`Edit quota ${entityText(q)}`}>Edit</button>}</td>
            </tr>
          ))}
        </Table>
      )}
      {editing ? <QuotaDialog quota={editing === 'new' ? undefined : editing} onClose={() => setEditing(undefined)} onDone={() => { setEditing(undefined); reload(); }} /> : null}
    </PageMain>
  );
}

const QUOTA_KEYS = ['producer_byte_rate', 'consumer_byte_rate', 'request_percentage', 'controller_mutation_rate'];

function QuotaDialog({ quota, onClose, onDone }: { quota: Quota | undefined; onClose: () => void; onDone: () => void }) {
  const [type, setType] = useState(quota?.entity[0]?.type ?? 'user');
  const [name, setName] = useState(quota?.entity[0]?.name ?? '');
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(QUOTA_KEYS.map((k) => [k, quota?.values[k] !== undefined ? String(quota.values[k]) : ''])));
  const [error, setError] = useState<Error | undefined>();
  const submit = async (e: Event) => {
    e.preventDefault();
    const set: Record<string, number> = {};
    const remove: string[] = [];
    for (const k of QUOTA_KEYS) { if (values[k]) set[k] = Number(values[k]); else if (quota?.values[k] !== undefined) remove.push(k); }
    const entity = quota ? quota.entity : [{ type, name: name === '' ? null : name }];
    try { await put('/api/quotas', { entity, set, delete: remove }); onDone(); } catch (err) { setError(toApiError(err)); }
  };
  return (
    <Dialog title={quota ? `Quota for ${entityText(quota)}` : 'Set quota'} onClose={onClose}>
      <form onSubmit={submit}>
        {quota ? null : (
          <div class="row">
            <label>Entity type<select value={type} onChange={(e) => setType(e.currentTarget.value)}><option>user</option><option>client-id</option><option>ip</option></select></label>
            <label class="grow">Name <span class="muted">(empty for the default)</span><input value={name} onInput={(e) => setName(e.currentTarget.value)} autoFocus /></label>
          </div>
        )}
        {QUOTA_KEYS.map((k) => (
          <label key={k}>{k}<input type="number" min={0} step="any" value={values[k]} onInput={(e) => { const v = e.currentTarget.value; setValues((s) => ({ ...s, [k]: v })); }} /></label>
        ))}
        <p class="muted">Empty removes the value.</p>
        <ErrorBox error={error} />
        <div class="actions"><button type="button" onClick={onClose}>Cancel</button><button type="submit" class="primary">Save</button></div>
      </form>
    </Dialog>
  );
}
