/** The console's web app: the shell (navigation, session, login) and the hash router. */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, post, setUnauthorizedHandler, toApiError, type Session } from './api';
import { ErrorBox, SessionContext } from './ui';
import { OverviewPage } from './overview';
import { TopicsPage, TopicPage } from './topics';
import { GroupsPage, GroupPage } from './groups';
import { BrokersPage, BrokerPage } from './brokers';
import { AclsPage, UsersPage, QuotasPage } from './security';
import { ReportsPage } from './reports';
import { PipelinesPage } from './pipelines';
import { StreamsPage, StreamsAppPage } from './streams';


function parseHash(): string[] {
  const h = location.hash.replace(/^#\/?/, '');
  return h === '' ? [] : h.split('/').map((p) => { try { return decodeURIComponent(p); } catch { return p; } });
}

function useRoute(): string[] {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => { setRoute(parseHash()); };
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

const NAV: [string, string][] = [
  ['', 'Overview'], ['topics', 'Topics'], ['groups', 'Consumer groups'], ['pipelines', 'Pipelines'], ['streams', 'Streams'],
  ['brokers', 'Brokers'],
  ['acls', 'ACLs'], ['users', 'Users'], ['quotas', 'Quotas'], ['reports', 'Reports'],
];

function Page({ route }: { route: string[] }) {
  const [section = '', id, tab] = route;
  // Keyed by the entity, so moving from one topic or group to another starts with fresh state.
  switch (section) {
    case '': return <OverviewPage />;
    case 'topics': return id === undefined ? <TopicsPage /> : <TopicPage key={id} name={id} tab={tab ?? 'partitions'} />;
    case 'groups': return id === undefined ? <GroupsPage /> : <GroupPage key={id} id={id} />;
    case 'pipelines': return <PipelinesPage />;
    case 'streams': return id === undefined ? <StreamsPage /> : <StreamsAppPage key={id} id={id} />;
    case 'brokers': return id === undefined ? <BrokersPage /> : <BrokerPage key={id} id={id} />;
    case 'acls': return <AclsPage />;
    case 'users': return <UsersPage />;
    case 'quotas': return <QuotasPage />;
    case 'reports': return <ReportsPage />;
    default: return <main id="main" tabIndex={-1}><h1 tabIndex={-1}>Not found</h1><p>No page at <code>{location.hash}</code>. <a href="#/">Back to the overview</a>.</p></main>;
  }
}

function Login({ onDone }: { onDone: () => void }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try { await post('/api/login', { username: user, password }); onDone(); } catch (err) { setError(toApiError(err)); setBusy(false); }
  };
  return (
    <main id="main" class="login" tabIndex={-1}>
      <form onSubmit={submit} class="card">
        <h1>Tributary console</h1>
        <label>Username<input name="username" autoComplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required autoFocus /></label>
        <label>Password<input name="password" type="password" autoComplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required /></label>
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy}>Sign in</button>
      </form>
    </main>
  );
}

function App() {
  const route = useRoute();
  const [session, setSession] = useState<Session | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const load = () => get<Session>('/api/session').then(setSession, (e: unknown) => setError(toApiError(e)));
  useEffect(() => {
    setUnauthorizedHandler(() => setSession((s) => (s ? { ...s, authenticated: false } : s)));
    void load();
  }, []);
  useEffect(() => {
    // `/` focuses the page's search box (as on GitHub and Kafbat UI), unless the user is typing somewhere.
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target as HTMLElement | null;
      if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
      const search = document.querySelector<HTMLInputElement>('input[type=search]');
      if (search) { e.preventDefault(); search.focus(); search.select(); }
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  useEffect(() => { document.querySelector<HTMLElement>('#main h1')?.focus({ preventScroll: true }); }, [route.join('/')]);
  if (error) return <main id="main" class="login" tabIndex={-1}><div class="card"><h1>Tributary console</h1><ErrorBox error={error} /></div></main>;
  if (!session) return <main id="main" class="login" aria-busy="true"><p class="placeholder">Loading…</p></main>;
  if (session.loginRequired && !session.authenticated) return <Login onDone={() => { void load(); }} />;
  const logout = async () => { try { await post('/api/logout', {}); } finally { void load(); } };
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>Skip to content</a>
      <div class="shell">
        <header class="sidebar">
          <a class="brand" href="#/">Tributary</a>
          <nav aria-label="Main">
            <ul>
              {NAV.map(([path, label]) => {
                const active = (route[0] ?? '') === path;
                return <li key={path}><a href={`#/${path}`} class={active ? 'active' : ''} aria-current={active ? 'page' : undefined}>{label}</a></li>;
              })}
            </ul>
          </nav>
          <div class="session-info">
            <div title="Bootstrap servers">{session.bootstrap}</div>
            {session.readOnly ? <div class="badge badge-warn">read-only</div> : null}
            {session.user ? <div>{session.user} <button type="button" class="link" onClick={logout}>Sign out</button></div> : null}
            <div class="muted">v{session.version}</div>
          </div>
        </header>
        <Page route={route} />
      </div>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
