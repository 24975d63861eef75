/**
 * Kafka's `ssl.principal.mapping.rules`: maps the X.500 distinguished name of a TLS client certificate
 * (RFC 2253 form, "CN=alice,OU=Eng,O=Acme,C=US") to a short principal name.
 *
 * The value is a comma- (or newline-) separated list of rules, tried in order; the first that matches wins:
 * - `DEFAULT`: the distinguished name unchanged.
 * - `RULE:pattern/replacement/` or `RULE:pattern/replacement/L` (lower-case) / `U` (upper-case): when the
 *   pattern matches the whole name, the name becomes the pattern's replacement (`$1`… name groups). A `/`
 *   inside the pattern or replacement is written `\/`.
 * No matching rule is an error (Kafka refuses such a connection).
 */
import { TributaryError } from '../errors.js';

export class PrincipalMappingError extends TributaryError {
  constructor(message: string) {
    super('ERR_PRINCIPAL_MAPPING', message);
  }
}

interface Rule {
  readonly text: string;
  apply(dn: string): string | null;
}

/** Parses the rules; throws PrincipalMappingError on a malformed one (a config error at startup). */
export function parsePrincipalMappingRules(value: string | undefined | null): SslPrincipalMapper {
  const text = (value ?? 'DEFAULT').trim();
  const rules: Rule[] = [];
  let i = 0;
  const skipSeparators = (): void => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  skipSeparators();
  while (i < text.length) {
    const start = i;
    if (text.startsWith('DEFAULT', i)) {
      i += 'DEFAULT'.length;
      rules.push({ text: 'DEFAULT', apply: (dn) => dn });
    } else if (text.startsWith('RULE:', i)) {
      i += 'RULE:'.length;
      const pattern = readPart();
      const replacement = readPart();
      let caseMode = '';
      if (text[i] === 'L' || text[i] === 'U') caseMode = text[i++]!;
      let whole: RegExp;
      let global: RegExp;
      try {
        whole = new RegExp(`^(?:${pattern})$`);
        global = new RegExp(pattern, 'g');
      } catch (err) {
        throw new PrincipalMappingError(`Invalid rule in ssl.principal.mapping.rules: "${text.slice(start, i)}": ${(err as Error).message}`);
      }
      const jsReplacement = javaReplacement(replacement);
      rules.push({
        text: text.slice(start, i),
        apply: (dn) => {
          if (!whole.test(dn)) return null;
          const out = dn.replace(global, jsReplacement);
          return caseMode === 'L' ? out.toLowerCase() : caseMode === 'U' ? out.toUpperCase() : out;
        },
      });
    } else {
      throw new PrincipalMappingError(`Invalid rule in ssl.principal.mapping.rules at "${text.slice(i, i + 40)}": expected DEFAULT or RULE:pattern/replacement/[LU]`);
    }
    const after = i;
    skipSeparators();
    if (i < text.length && i === after) {
      throw new PrincipalMappingError(`Invalid rule in ssl.principal.mapping.rules at "${text.slice(start, i + 20)}": rules are separated by commas`);
    }
  }
  return new SslPrincipalMapper(rules);

  /** Reads up to the next unescaped `/` (consumed); `\/` is a literal slash. */
  function readPart(): string {
    let out = '';
    while (i < text.length && text[i] !== '/') {
      if (text[i] === '\\' && text[i + 1] === '/') {
        out += '/';
        i += 2;
      } else {
        out += text[i++];
      }
    }
    if (i >= text.length) throw new PrincipalMappingError(`Invalid rule in ssl.principal.mapping.rules: "${text}": expected RULE:pattern/replacement/[LU]`);
    i++;
    return out;
  }
}

/** Java's replacement syntax ($n, \x literal) in JavaScript's ($n, $$). */
function javaReplacement(r: string): string {
  let out = '';
  for (let i = 0; i < r.length; i++) {
    const c = r[i]!;
    if (c === '\\' && i + 1 < r.length) {
      const n = r[++i]!;
      out += n === '$' ? '$$' : n;
    } else {
      out += c;
    }
  }
  return out;
}

export class SslPrincipalMapper {
  constructor(private readonly rules: readonly Rule[]) {}

  /** The short name for a distinguished name; throws PrincipalMappingError when no rule applies. */
  map(distinguishedName: string): string {
    for (const rule of this.rules) {
      const out = rule.apply(distinguishedName);
      if (out !== null) return out;
    }
    throw new PrincipalMappingError(`No rules apply to ${distinguishedName}, rules [${this.rules.map((r) => r.text).join(', ')}]`);
  }
}

/**
 * A certificate subject as Node's X509Certificate prints it (one `attr=value` per line, in certificate order)
 * in RFC 2253 form: last RDN first, comma-separated, special characters escaped — as Java's
 * X500Principal.getName() gives Kafka.
 */
export function rfc2253(subjectLines: string): string {
  const rdns = subjectLines.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return rdns
    .reverse()
    .map((rdn) => {
      const eq = rdn.indexOf('=');
      if (eq < 0) return rdn;
      return `${rdn.slice(0, eq)}=${escapeValue(rdn.slice(eq + 1))}`;
    })
    .join(',');
}

function escapeValue(v: string): string {
  let out = v.replace(/([,+"\\<>;])/g, '\\$1');
  if (out.startsWith('#') || out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && out.length > 1) out = `${out.slice(0, -1)}\\ `;
  return out;
}
