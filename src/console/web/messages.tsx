/**
 * The message browser (a bounded read from beginning/end/offset/timestamp, filter, live tail over SSE) and the
 * produce dialog. Message contents are only ever rendered as text nodes.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { enc, get, post, toApiError, type Header, type Message } from './api';
import { Badge, Dialog, ErrorBox, fmtTime, useSession } from './ui';

const TAIL_KEPT = 500;

/** The value pretty-printed when it is JSON (an object or array), else as is. */
export function prettyValue(v: string): { text: string; json: boolean } {
  const t = v.trimStart();
  if (t.startsWith('{') || t.startsWith('[')) {
    try { return { text: JSON.stringify(JSON.parse(v), null, 2), json: true }; } catch { /* not JSON */ }
  }
  return { text: v, json: false };
}

function Field({ value, base64 }: { value: string | null; base64?: boolean }) {
  if (value === null) return <span class="muted">null</span>;
  return <>{base64 ? <Badge kind="info">base64</Badge> : null}<span class="mono">{value}</span></>;
}

function MessageItem({ m }: { m: Message }) {
  const preview = m.value === null ? null : m.value.length > 160 ? m.value.slice(0, 160) + '…' : m.value;
  const pretty = m.value !== null && !m.valueBase64 ? prettyValue(m.value) : undefined;
  return (
    <details class="msg">
      <summary>
        <span class="msg-pos">{m.partition}:{m.offset}</span>
        <span class="msg-time">{fmtTime(m.timestamp)}</span>
        <span class="msg-key">{m.key === null ? <span class="muted">null</span> : <>{m.keyBase64 ? <Badge kind="info">base64</Badge> : null}{m.key}</>}</span>
        <span class="msg-value">{preview === null ? <span class="muted">null</span> : <>{m.valueBase64 ? <Badge kind="info">base64</Badge> : null}{preview}</>}</span>
      </summary>
      <div class="msg-body">
        <dl>
          <dt>Partition</dt><dd>{m.partition}</dd>
          <dt>Offset</dt><dd>{m.offset}</dd>
          <dt>Timestamp</dt><dd>{fmtTime(m.timestamp)} <span class="muted">({m.timestamp})</span></dd>
          <dt>Key</dt><dd><Field value={m.key} base64={m.keyBase64} /></dd>
        </dl>
        <h2 class="sub">Value {pretty?.json ? <Badge kind="muted">JSON</Badge> : null} {m.valueBase64 ? <Badge kind="info">base64 (not UTF-8)</Badge> : null}</h2>
        {m.value === null ? <p class="muted">null (tombstone)</p> : <pre class="value-pre">{pretty ? pretty.text : m.value}</pre>}
        <h2 class="sub">Headers</h2>
        {m.headers.length === 0 ? <p class="muted">No headers</p> : (
          <table class="headers" aria-label="Headers"><thead><tr><th scope="col">Key</th><th scope="col">Value</th></tr></thead>
            <tbody>{m.headers.map((h, i) => <tr key={i}><td class="mono">{h.key}</td><td class="mono">{h.value === null ? <span class="muted">null</span> : h.value}</td></tr>)}</tbody>
          </table>
        )}
      </div>
    </details>
  );
}

function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
  return d.toISOString().slice(0, 16);
}

export function MessageBrowser({ topic, partitions }: { topic: string; partitions: number[] }) {
  const { readOnly } = useSession();
  const [partition, setPartition] = useState('all');
  const [from, setFrom] = useState('end');
  const [offset, setOffset] = useState('0');
  const [timestamp, setTimestamp] = useState(() => toLocalInput(Date.now() - 3600_000));
  const [limit, setLimit] = useState('50');
  const [filter, setFilter] = useState('');
  const [messages, setMessages] = useState<Message[] | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [loading, setLoading] = useState(false);
  const [tail, setTail] = useState(false);
  const [producing, setProducing] = useState(false);
  const source = useRef<EventSource | null>(null);

  const load = async () => {
    setLoading(true);
    setError(undefined);
    const params = new URLSearchParams({ partition, from, limit });
    if (from === 'offset') params.set('offset', offset);
    if (from === 'timestamp') params.set('timestamp', String(new Date(timestamp).getTime()));
    if (filter) params.set('filter', filter);
    try {
      const res = await get<{ messages: Message[] }>(`/api/topics/${enc(topic)}/messages?${params}`);
      // Newest first when reading from the end (as the live tail adds on top), oldest first otherwise.
      setMessages(from === 'end' ? [...res.messages].reverse() : res.messages);
    } catch (err) { setError(toApiError(err)); }
    setLoading(false);
  };
  useEffect(() => { void load(); }, [topic]);

  useEffect(() => {
    if (!tail) return;
    const params = new URLSearchParams({ partition });
    if (filter) params.set('filter', filter);
    const es = new EventSource(`/api/topics/${enc(topic)}/tail?${params}`);
    source.current = es;
    es.addEventListener('message', (e) => {
      let m: Message;
      try { m = JSON.parse((e as MessageEvent).data) as Message; } catch { return; }
      setMessages((prev) => [m, ...(prev ?? [])].slice(0, TAIL_KEPT));
    });
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) { setError(new Error('The live tail was closed by the server.')); setTail(false); } };
    return () => { es.close(); source.current = null; };
  }, [tail, topic, partition, filter]);

  const shown = messages;
  return (
    <section aria-label="Messages">
      <form class="browser-controls" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <label>Partition
          <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
            <option value="all">All</option>
            {partitions.map((p) => <option key={p} value={String(p)}>{p}</option>)}
          </select>
        </label>
        <label>From
          <select name="from" value={from} onChange={(e) => setFrom(e.currentTarget.value)}>
            <option value="end">Newest</option>
            <option value="beginning">Oldest</option>
            <option value="offset">Offset</option>
            <option value="timestamp">Timestamp</option>
          </select>
        </label>
        {from === 'offset' ? <label>Offset<input name="offset" type="number" min={0} value={offset} onInput={(e) => setOffset(e.currentTarget.value)} /></label> : null}
        {from === 'timestamp' ? <label>Time<input name="timestamp" type="datetime-local" value={timestamp} onInput={(e) => setTimestamp(e.currentTarget.value)} /></label> : null}
        <label>Limit
          <select name="limit" value={limit} onChange={(e) => setLimit(e.currentTarget.value)}>
            {['20', '50', '100', '500'].map((l) => <option key={l} value={l}>{l}</option>)}
          </select>
        </label>
        <label class="grow">Filter
          <input type="search" name="filter" placeholder="Text in key, value or headers (press /)" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
        </label>
        <div class="buttons">
          <button type="submit" class="primary" disabled={loading || tail}>{loading ? 'Loading…' : 'Load'}</button>
          <button type="button" aria-pressed={tail ? 'true' : 'false'} class={tail ? 'live on' : 'live'} onClick={() => setTail((t) => !t)}>{tail ? '● Live' : 'Live tail'}</button>
          {readOnly ? null : <button type="button" onClick={() => setProducing(true)}>Produce</button>}
        </div>
      </form>
      <ErrorBox error={error} />
      <div class="msg-list" aria-busy={loading ? 'true' : 'false'} aria-live={tail ? 'polite' : 'off'}>
        <div class="msg-head" aria-hidden="true"><span>Partition:offset</span><span>Timestamp</span><span>Key</span><span>Value</span></div>
        {shown === undefined ? <p class="placeholder">Loading…</p> : shown.length === 0 ? <p class="placeholder">{tail ? 'Waiting for new messages…' : 'No messages.'}</p> : null}
        {shown?.map((m) => <MessageItem key={`${m.partition}:${m.offset}`} m={m} />)}
      </div>
      {producing ? <ProduceDialog topic={topic} partitions={partitions.length} onClose={() => setProducing(false)} onProduced={() => { if (!tail) void load(); }} /> : null}
    </section>
  );
}

export function ProduceDialog({ topic, partitions, onClose, onProduced }: { topic: string; partitions: number; onClose: () => void; onProduced: () => void }) {
  const [key, setKey] = useState('');
  const [nullKey, setNullKey] = useState(false);
  const [value, setValue] = useState('');
  const [nullValue, setNullValue] = useState(false);
  const [headers, setHeaders] = useState<Header[]>([]);
  const [partition, setPartition] = useState('');
  const [error, setError] = useState<Error | undefined>();
  const [result, setResult] = useState<{ partition: number; offset: number } | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const body = { key: nullKey ? null : key, value: nullValue ? null : value, headers: headers.filter((h) => h.key !== ''), ...(partition === '' ? {} : { partition: Number(partition) }) };
      const res = await post<{ partition: number; offset: number }>(`/api/topics/${enc(topic)}/messages`, body);
      setResult(res);
      onProduced();
    } catch (err) { setError(toApiError(err)); }
    setBusy(false);
  };
  const setHeader = (i: number, h: Partial<Header>) => setHeaders((hs) => hs.map((x, j) => (j === i ? { ...x, ...h } : x)));
  return (
    <Dialog title={`Produce to ${topic}`} onClose={onClose} wide>
      <form onSubmit={submit}>
        <div class="row">
          <label class="grow">Key<input name="key" value={key} disabled={nullKey} onInput={(e) => setKey(e.currentTarget.value)} autoFocus autoComplete="off" /></label>
          <label class="check"><input type="checkbox" checked={nullKey} onChange={(e) => setNullKey(e.currentTarget.checked)} /> null key</label>
          <label>Partition
            <select name="partition" value={partition} onChange={(e) => setPartition(e.currentTarget.value)}>
              <option value="">By key (default partitioner)</option>
              {Array.from({ length: partitions }, (_, p) => <option key={p} value={String(p)}>{p}</option>)}
            </select>
          </label>
        </div>
        <label>Value<textarea name="value" rows={8} value={value} disabled={nullValue} onInput={(e) => setValue(e.currentTarget.value)} spellcheck={false} /></label>
        <label class="check"><input type="checkbox" checked={nullValue} onChange={(e) => setNullValue(e.currentTarget.checked)} /> null value (tombstone)</label>
        <fieldset>
          <legend>Headers</legend>
          {headers.map((h, i) => (
            <div class="row" key={i}>
              <label class="grow">Header key<input name={`header-key-${i}`} value={h.key} onInput={(e) => setHeader(i, { key: e.currentTarget.value })} autoComplete="off" /></label>
              <label class="grow">Header value<input name={`header-value-${i}`} value={h.value ?? ''} onInput={(e) => setHeader(i, { value: e.currentTarget.value })} autoComplete="off" /></label>
              <button type="button" class="small" onClick={() => setHeaders((hs) => hs.filter((_, j) => j !== i))} aria-label={`Remove header ${i + 1}`}>Remove</button>
            </div>
          ))}
          <button type="button" class="small" onClick={() => setHeaders((hs) => [...hs, { key: '', value: '' }])}>Add header</button>
        </fieldset>
        <ErrorBox error={error} />
        {result ? <p class="ok" role="status">Produced to partition {result.partition} at offset {result.offset}.</p> : null}
        <div class="actions">
          <button type="button" onClick={onClose}>Close</button>
          <button type="submit" class="primary" disabled={busy}>Produce</button>
        </div>
      </form>
    </Dialog>
  );
}
