/**
 * Kafka's JAAS config value (`sasl.jaas.config`, `listener.name.<listener>.<mechanism>.sasl.jaas.config`):
 *
 *   <LoginModuleClass> <flag> [<name>=<value> …];   (one or more entries)
 *
 * The flag is required, requisite, sufficient or optional. A value is a word (letters, digits, '.', '-', '_', '$')
 * or a double-quoted string with backslash escapes (\" \\ \n \t \r); // and /* *\/ comments are skipped, as Java's
 * StreamTokenizer does for Kafka's JaasConfig. Errors throw JaasError naming the position.
 */

export type JaasControlFlag = 'required' | 'requisite' | 'sufficient' | 'optional';

export interface JaasEntry {
  readonly loginModule: string;
  readonly flag: JaasControlFlag;
  readonly options: ReadonlyMap<string, string>;
}

export class JaasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JaasError';
  }
}

type Token = { kind: 'word' | 'string'; text: string; at: number } | { kind: 'punct'; text: '=' | ';'; at: number };

const WORD_RE = /[A-Za-z0-9._$-]/;
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\', "'": "'" };

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (s.startsWith('//', i)) { const nl = s.indexOf('\n', i); i = nl < 0 ? s.length : nl + 1; continue; }
    if (s.startsWith('/*', i)) {
      const end = s.indexOf('*/', i + 2);
      if (end < 0) throw new JaasError(`unterminated comment at ${i}`);
      i = end + 2;
      continue;
    }
    if (c === '=' || c === ';') { out.push({ kind: 'punct', text: c, at: i }); i++; continue; }
    if (c === '"') {
      const at = i++;
      let text = '';
      for (;;) {
        if (i >= s.length) throw new JaasError(`unterminated quoted value starting at ${at}`);
        const d = s[i++]!;
        if (d === '"') break;
        if (d === '\\') {
          if (i >= s.length) throw new JaasError(`unterminated quoted value starting at ${at}`);
          const e = s[i++]!;
          text += ESCAPES[e] ?? e;
        } else {
          text += d;
        }
      }
      out.push({ kind: 'string', text, at });
      continue;
    }
    if (WORD_RE.test(c)) {
      const at = i;
      while (i < s.length && WORD_RE.test(s[i]!)) i++;
      out.push({ kind: 'word', text: s.slice(at, i), at });
      continue;
    }
    throw new JaasError(`unexpected character '${c}' at ${i}`);
  }
  return out;
}

/** Parses a JAAS config value into its login module entries (at least one). */
export function parseJaasConfig(value: string): JaasEntry[] {
  const tokens = tokenize(value);
  const entries: JaasEntry[] = [];
  let i = 0;
  const describe = (t: Token | undefined): string => (t ? `'${t.text}' at ${t.at}` : 'the end');
  while (i < tokens.length) {
    const mod = tokens[i++];
    if (mod?.kind !== 'word') throw new JaasError(`expected a login module class, found ${describe(mod)}`);
    const flag = tokens[i++];
    if (flag?.kind !== 'word' || !['required', 'requisite', 'sufficient', 'optional'].includes(flag.text.toLowerCase())) {
      throw new JaasError(`expected a control flag (required, requisite, sufficient, optional) after ${mod.text}, found ${describe(flag)}`);
    }
    const options = new Map<string, string>();
    for (;;) {
      const t = tokens[i++];
      if (t === undefined) throw new JaasError(`login module ${mod.text} is not terminated by ';'`);
      if (t.kind === 'punct' && t.text === ';') break;
      if (t.kind !== 'word') throw new JaasError(`expected an option name, found ${describe(t)}`);
      const eq = tokens[i++];
      if (eq?.kind !== 'punct' || eq.text !== '=') throw new JaasError(`expected '=' after option ${t.text}, found ${describe(eq)}`);
      const v = tokens[i++];
      if (v?.kind !== 'word' && v?.kind !== 'string') throw new JaasError(`expected a value for option ${t.text}, found ${describe(v)}`);
      options.set(t.text, v.text);
    }
    entries.push({ loginModule: mod.text, flag: flag.text.toLowerCase() as JaasControlFlag, options });
  }
  if (entries.length === 0) throw new JaasError('JAAS config has no login module');
  return entries;
}

/** The single login module of a `sasl.jaas.config` value (Kafka refuses more than one there). */
export function parseSingleJaasEntry(value: string): JaasEntry {
  const entries = parseJaasConfig(value);
  if (entries.length !== 1) throw new JaasError(`JAAS config property contains ${entries.length} login modules, should be 1 module`);
  return entries[0]!;
}

export const PLAIN_LOGIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';
export const SCRAM_LOGIN_MODULE = 'org.apache.kafka.common.security.scram.ScramLoginModule';

/** The PLAIN user table of a PlainLoginModule entry: its user_<name>="<password>" options. */
export function plainUsers(entry: JaasEntry): Map<string, string> {
  const users = new Map<string, string>();
  for (const [k, v] of entry.options) if (k.startsWith('user_') && k.length > 'user_'.length) users.set(k.slice('user_'.length), v);
  return users;
}

/** The client's own credentials in a login module entry (username / password options), if both are set. */
export function clientCredentials(entry: JaasEntry): { username: string; password: string } | undefined {
  const username = entry.options.get('username');
  const password = entry.options.get('password');
  return username !== undefined && password !== undefined ? { username, password } : undefined;
}

/**
 * A JAAS login configuration file (what Kafka reads through `java.security.auth.login.config`): named sections,
 * each holding JAAS entries — `KafkaServer { org.apache.kafka.common.security.plain.PlainLoginModule required
 * user_admin="…"; };`. Returns the entries by section name (as written). Braces and semicolons inside quoted
 * strings and comments do not count.
 */
export function parseJaasFile(text: string): Map<string, JaasEntry[]> {
  const sections = new Map<string, JaasEntry[]>();
  let i = 0;
  const skip = (): void => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (text.startsWith('//', i)) { const nl = text.indexOf('\n', i); i = nl < 0 ? text.length : nl + 1; continue; }
      if (text.startsWith('/*', i)) {
        const end = text.indexOf('*/', i + 2);
        if (end < 0) throw new JaasError(`unterminated comment at ${i}`);
        i = end + 2;
        continue;
      }
      return;
    }
  };
  for (skip(); i < text.length; skip()) {
    const m = /^[A-Za-z0-9._$-]+/.exec(text.slice(i));
    if (!m) throw new JaasError(`expected a section name at ${i}`);
    const name = m[0];
    i += name.length;
    skip();
    if (text[i] !== '{') throw new JaasError(`expected '{' after section ${name} at ${i}`);
    const start = ++i;
    let quoted = false;
    for (; i < text.length && (quoted || text[i] !== '}'); i++) {
      if (text[i] === '\\' && quoted) i++;
      else if (text[i] === '"') quoted = !quoted;
    }
    if (i >= text.length) throw new JaasError(`section ${name} is not closed with '}'`);
    const body = text.slice(start, i);
    i++;
    skip();
    if (text[i] === ';') i++;
    if (sections.has(name)) throw new JaasError(`section ${name} appears twice`);
    sections.set(name, parseJaasConfig(body));
  }
  return sections;
}

/** One entry back in the config-value form (`<module> <flag> k="v" …;`), quoting every value. */
export function formatJaasEntry(entry: JaasEntry): string {
  const options = [...entry.options].map(([k, v]) => ` ${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`).join('');
  return `${entry.loginModule} ${entry.flag}${options};`;
}
