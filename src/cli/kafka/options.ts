/**
 * What the Kafka-script drop-ins (kafka/bin/kafka-*.sh) share: a parser for Kafka's command lines
 * (`--name value` or `--name=value`, unique prefixes of long names, repeatable options, and
 * argparse-style options that take every following word, as --producer-props does), Java properties
 * files (--command-config, --producer.config …), the client settings they add up to, and Kafka's exit
 * codes: 0, or 1 with the message on stderr for any error, a usage error followed by the option list.
 */
import type { CompressionCodec } from '../../client/producer.js';
import { DEFAULT_BOOTSTRAP } from '../../client/cluster.js';
import { readPropertiesFile, saslOptions, sslOptions, type ClientFlags } from '../common.js';
import { COMPRESSION_CODECS, type ProducerFlags } from '../data-options.js';

/** none: a switch; required: one value; optional: a value when the next word is not an option; multi: every following word up to the next option. */
export type ArgKind = 'none' | 'required' | 'optional' | 'multi';

export interface OptionSpec {
  arg: ArgKind;
  help: string;
  /** Shown in the option list, e.g. <String: topic>. */
  metavar?: string;
}

export type OptionSpecs = Record<string, OptionSpec>;

/** An error the tool reports as one message and exit code 1. */
export class KafkaToolError extends Error {}

/** A mistake in the command line: Kafka prints it, then the option list, and exits 1. */
export class KafkaUsageError extends KafkaToolError {}

export class ParsedArgs {
  constructor(private readonly given: Map<string, string[]>) {}

  has(name: string): boolean {
    return this.given.has(name);
  }

  /** The last value given for `name`. */
  value(name: string): string | undefined {
    const v = this.given.get(name);
    return v === undefined || v.length === 0 ? undefined : v[v.length - 1];
  }

  /** Every value given for `name`, in order. */
  values(name: string): string[] {
    return this.given.get(name) ?? [];
  }

  /** A whole number ≥ min, or undefined when the option is absent. */
  int(name: string, min = Number.MIN_SAFE_INTEGER): number | undefined {
    const v = this.value(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n)) throw new KafkaUsageError(`Cannot parse argument '${v}' of option ${name}`);
    if (n < min) throw new KafkaUsageError(`The value of option ${name} must be at least ${min}, got ${v}`);
    return n;
  }

  /** The options actually given, for "can't be used with" checks. */
  names(): string[] {
    return [...this.given.keys()];
  }
}

/** Parses `argv` (the words after the script name) against `specs` (keys without the leading --). */
export function parseArgs(argv: string[], specs: OptionSpecs): ParsedArgs {
  const given = new Map<string, string[]>();
  const names = Object.keys(specs);
  const isOption = (word: string | undefined): boolean => word !== undefined && /^--?[A-Za-z]/.test(word);
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i];
    if (!word.startsWith('--') || word === '--') {
      throw new KafkaUsageError(`Found non-option argument '${word}': every argument must follow an option such as --topic`);
    }
    const eq = word.indexOf('=');
    const written = word.slice(2, eq < 0 ? undefined : eq);
    const name = resolveName(written, names);
    const spec = specs[name];
    const values = given.get(name) ?? [];
    given.set(name, values);
    if (eq >= 0) {
      if (spec.arg === 'none') throw new KafkaUsageError(`Option ${name} does not take an argument`);
      values.push(word.slice(eq + 1));
      continue;
    }
    switch (spec.arg) {
      case 'none':
        break;
      case 'required':
        if (i + 1 >= argv.length) throw new KafkaUsageError(`Option ${name} requires an argument`);
        values.push(argv[++i]);
        break;
      case 'optional':
        if (i + 1 < argv.length && !isOption(argv[i + 1])) values.push(argv[++i]);
        break;
      case 'multi': {
        const start = values.length;
        while (i + 1 < argv.length && !argv[i + 1].startsWith('--')) values.push(argv[++i]);
        if (values.length === start) throw new KafkaUsageError(`Option ${name} requires at least one argument`);
        break;
      }
    }
  }
  return new ParsedArgs(given);
}

/** An exact name, or the one name the word is a prefix of (jopt-simple accepts abbreviations). */
function resolveName(written: string, names: string[]): string {
  if (names.includes(written)) return written;
  const matches = names.filter((n) => n.startsWith(written));
  if (matches.length === 1 && written.length > 0) return matches[0];
  if (matches.length > 1) throw new KafkaUsageError(`Option ${written} is ambiguous: ${matches.map((m) => `--${m}`).join(', ')}`);
  throw new KafkaUsageError(`${written} is not a recognized option`);
}

/** The option list printed after a usage error and for --help. */
export function usage(description: string, specs: OptionSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const arg = s.arg === 'none' ? '' : s.arg === 'optional' ? ` [${s.metavar ?? 'String'}]` : ` <${s.metavar ?? 'String'}>`;
    return [`--${name}${arg}`, s.help];
  });
  const width = Math.max(6, ...rows.map(([o]) => o.length));
  return [
    description,
    `${'Option'.padEnd(width)}  Description`,
    `${'------'.padEnd(width)}  -----------`,
    ...rows.map(([o, h]) => `${o.padEnd(width)}  ${h}`),
    '',
  ].join('\n');
}

/** `Option "[a]" can't be used with option "[b]"` when both are given (jopt-simple's wording). */
export function checkInvalid(args: ParsedArgs, option: string, withAny: string[]): void {
  if (!args.has(option)) return;
  for (const other of withAny) {
    if (args.has(other)) throw new KafkaUsageError(`Option "[${option}]" can't be used with option "[${other}]"`);
  }
}

/** `Missing required argument "[name]"`. */
export function requireOption(args: ParsedArgs, name: string): string {
  const v = args.value(name);
  if (v === undefined) throw new KafkaUsageError(`Missing required argument "[${name}]"`);
  return v;
}

/** A Java properties file (common.ts parseProperties: `key=value` lines, comments, backslash continuations). */
export function readProperties(path: string): Record<string, string> {
  try {
    return readPropertiesFile(path);
  } catch (err) {
    throw new KafkaToolError((err as Error).message);
  }
}

/** `key=value` words (--producer-property, --property, --producer-props) into a record. */
export function keyValues(words: string[], option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw new KafkaUsageError(`Invalid ${option} '${w}': expected key=value`);
    out[w.slice(0, i).trim()] = w.slice(i + 1).trim();
  }
  return out;
}

/**
 * The client settings from --bootstrap-server (or bootstrap.servers in the properties) and client
 * properties (security.protocol PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL with the ssl.* and sasl.* properties,
 * read by clientOptions; a bad one is refused before connecting).
 */
export function clientFlags(bootstrap: string | undefined, props: Record<string, string>, options: { required?: boolean } = {}): ClientFlags {
  try {
    sslOptions(props);
    saslOptions(props);
  } catch (err) {
    throw new KafkaToolError((err as Error).message);
  }
  const servers = bootstrap ?? props['bootstrap.servers'];
  if (servers === undefined && options.required !== false) throw new KafkaUsageError('Missing required argument "[bootstrap-server]"');
  return { bootstrapServer: servers ?? DEFAULT_BOOTSTRAP, property: props };
}

/** Kafka 3.0 removed --zookeeper from the tools; Tributary has no ZooKeeper at all. */
export const ZOOKEEPER_OPTION: OptionSpec = { arg: 'required', help: 'Not supported: Tributary has no ZooKeeper (nor has Kafka since 3.0); use --bootstrap-server', metavar: 'String: urls' };

export function refuseZookeeper(args: ParsedArgs): void {
  if (args.has('zookeeper')) {
    throw new KafkaUsageError('--zookeeper is not supported: Tributary has no ZooKeeper (Kafka\'s tools dropped the option in 3.0). Point --bootstrap-server at a broker instead');
  }
}

/** A Kafka script: its options, what it does, and how its errors read. */
export interface KafkaTool {
  description: string;
  specs: OptionSpecs;
  run(args: ParsedArgs): Promise<void>;
  /** The stderr text for a failure (Kafka's tools each word it their own way). */
  errorText(message: string, argv: string[]): string;
}

/**
 * The producer settings Tributary's tools take (acks, compression, linger, batch size, idempotence),
 * read from Kafka producer properties over the tool's defaults.
 */
export function producerFlags(props: Record<string, string>, defaults: Partial<ProducerFlags> = {}): ProducerFlags {
  const num = (key: string, fallback: number): number => {
    const v = props[key];
    if (v === undefined) return fallback;
    const n = Number(v);
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new KafkaToolError(`Invalid value ${v} for configuration ${key}: expected a non-negative integer`);
    return n;
  };
  const acks = props.acks ?? defaults.acks ?? 'all';
  if (!['all', '-1', '1', '0'].includes(acks)) throw new KafkaToolError(`Invalid value ${acks} for configuration acks: String must be one of: all, -1, 0, 1`);
  const compression = (props['compression.type'] ?? defaults.compression ?? 'none') as CompressionCodec;
  if (!COMPRESSION_CODECS.includes(compression)) throw new KafkaToolError(`Invalid value ${compression} for configuration compression.type: String must be one of: ${COMPRESSION_CODECS.join(', ')}`);
  const idempotence = props['enable.idempotence'] ?? String(defaults.idempotence ?? true);
  return {
    acks,
    compression,
    lingerMs: num('linger.ms', defaults.lingerMs ?? 5),
    batchSize: num('batch.size', defaults.batchSize ?? 16384),
    idempotence: idempotence.trim().toLowerCase() === 'true',
  };
}
