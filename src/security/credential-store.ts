/**
 * The SCRAM credential store: every user's salted credentials (never a password), as Kafka keeps them with the
 * cluster's metadata, and Kafka's DescribeUserScramCredentials / AlterUserScramCredentials semantics over them.
 *
 * The store keeps the credentials in memory (SASL looks them up synchronously) and persists every change through
 * a CredentialBackend before applying it:
 * - single node: FileCredentialBackend, `<data-dir>/__scram_credentials.json`, replaced atomically (temp file,
 *   fsync, rename, directory fsync) and read when the store opens;
 * - cluster: an etcd backend (src/cluster/scram-credentials-etcd.ts), one key per user and mechanism, whose
 *   watch brings other brokers' changes in.
 * Alterations are serialised: one backend write at a time, in arrival order.
 *
 * File format (version 1): {"version":1,"credentials":[{"user","mechanism","iterations","salt","storedKey",
 * "serverKey"}]} with the three keys base64.
 */
import { join } from 'node:path';
import { VersionedJsonFile } from './versioned-json-file.js';
import { ErrorCode } from '../protocol/generated/error-codes.js';
import {
  SCRAM_MAX_ITERATIONS,
  SCRAM_MIN_ITERATIONS,
  credentialFromSaltedPassword,
  isScramMechanism,
  mechanismByCode,
  mechanismCode,
  type ScramCredential,
  type ScramMechanismName,
} from './scram.js';

export const SCRAM_CREDENTIALS_FILE = '__scram_credentials.json';

export interface StoredScramCredential extends ScramCredential {
  readonly user: string;
  readonly mechanism: ScramMechanismName;
}

export interface CredentialDeletion {
  readonly user: string;
  readonly mechanism: ScramMechanismName;
}

/** Where the credentials persist. `apply` writes upserts and deletions together, or none of them. */
export interface CredentialBackend {
  load(): Promise<StoredScramCredential[]>;
  apply(upserts: readonly StoredScramCredential[], deletions: readonly CredentialDeletion[]): Promise<void>;
  /** A backend shared by several brokers reports the full set again whenever another writer changed it. */
  watch?(onChange: (all: StoredScramCredential[]) => void): () => void;
  close?(): Promise<void>;
}

/** JSON form of one credential (the file's entries, and the etcd backend's values). */
export function credentialToJson(c: StoredScramCredential): Record<string, unknown> {
  return {
    user: c.user,
    mechanism: c.mechanism,
    iterations: c.iterations,
    salt: c.salt.toString('base64'),
    storedKey: c.storedKey.toString('base64'),
    serverKey: c.serverKey.toString('base64'),
  };
}

/** Parses credentialToJson's form; throws on anything else. */
export function credentialFromJson(v: unknown): StoredScramCredential {
  const o = v as Record<string, unknown> | null;
  if (o === null || typeof o !== 'object' || typeof o.user !== 'string' || typeof o.mechanism !== 'string' || !isScramMechanism(o.mechanism)
    || !Number.isInteger(o.iterations) || typeof o.salt !== 'string' || typeof o.storedKey !== 'string' || typeof o.serverKey !== 'string') {
    throw new Error(`not a SCRAM credential: ${JSON.stringify(v)}`);
  }
  return {
    user: o.user,
    mechanism: o.mechanism,
    iterations: o.iterations as number,
    salt: Buffer.from(o.salt, 'base64'),
    storedKey: Buffer.from(o.storedKey, 'base64'),
    serverKey: Buffer.from(o.serverKey, 'base64'),
  };
}

/** The single node's backend: one JSON file in the data dir. */
export class FileCredentialBackend implements CredentialBackend {
  private readonly store: VersionedJsonFile<StoredScramCredential>;
  readonly file: string;

  constructor(dataDir: string) {
    this.store = new VersionedJsonFile(join(dataDir, SCRAM_CREDENTIALS_FILE), {
      field: 'credentials', keyOf: (c) => keyOf(c.user, c.mechanism), toJson: credentialToJson, fromJson: credentialFromJson,
    });
    this.file = this.store.file;
  }

  load(): Promise<StoredScramCredential[]> {
    return this.store.load();
  }

  apply(upserts: readonly StoredScramCredential[], deletions: readonly CredentialDeletion[]): Promise<void> {
    return this.store.update((next) => {
      for (const d of deletions) next.delete(keyOf(d.user, d.mechanism));
      for (const u of upserts) next.set(keyOf(u.user, u.mechanism), u);
    });
  }
}

const keyOf = (user: string, mechanism: ScramMechanismName): string => `${mechanism}\u0000${user}`;

/** One user's result of DescribeUserScramCredentials. */
export interface DescribeCredentialsResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
  credentialInfos: Array<{ mechanism: number; iterations: number }>;
}

/** One user's result of AlterUserScramCredentials. */
export interface AlterCredentialsResult {
  user: string;
  errorCode: number;
  errorMessage: string | null;
}

/** An upsertion as AlterUserScramCredentials carries it: the client salts and hashes the password. */
export interface CredentialUpsertion {
  name: string;
  mechanism: number;
  iterations: number;
  salt: Buffer;
  saltedPassword: Buffer;
}

export interface CredentialDeletionRequest {
  name: string;
  mechanism: number;
}

export class ScramCredentialStore {
  private creds = new Map<string, Map<ScramMechanismName, StoredScramCredential>>();
  private queue: Promise<unknown> = Promise.resolve();
  private unwatch: (() => void) | undefined;

  private constructor(private readonly backend: CredentialBackend) {}

  /** Loads the backend's credentials and follows its changes. */
  static async open(backend: CredentialBackend): Promise<ScramCredentialStore> {
    const store = new ScramCredentialStore(backend);
    store.replace(await backend.load());
    store.unwatch = backend.watch?.((all) => store.replace(all));
    return store;
  }

  private replace(all: readonly StoredScramCredential[]): void {
    const next = new Map<string, Map<ScramMechanismName, StoredScramCredential>>();
    for (const c of all) {
      let m = next.get(c.user);
      if (!m) next.set(c.user, (m = new Map()));
      m.set(c.mechanism, c);
    }
    this.creds = next;
  }

  /** The credential SASL/SCRAM authenticates against. */
  lookup(user: string, mechanism: ScramMechanismName): ScramCredential | undefined {
    return this.creds.get(user)?.get(mechanism);
  }

  users(): string[] {
    return [...this.creds.keys()].sort();
  }

  /** DescribeUserScramCredentials: null or empty → every user that has a credential. */
  describe(users: readonly string[] | null): DescribeCredentialsResult[] {
    const info = (u: string) => [...(this.creds.get(u) ?? new Map<ScramMechanismName, StoredScramCredential>()).values()]
      .sort((a, b) => mechanismCode(a.mechanism) - mechanismCode(b.mechanism))
      .map((c) => ({ mechanism: mechanismCode(c.mechanism), iterations: c.iterations }));
    if (users === null || users.length === 0) {
      return this.users().map((user) => ({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(user) }));
    }
    const counts = new Map<string, number>();
    for (const u of users) counts.set(u, (counts.get(u) ?? 0) + 1);
    const out: DescribeCredentialsResult[] = [];
    for (const user of counts.keys()) {
      if (counts.get(user)! > 1) {
        out.push({ user, errorCode: ErrorCode.DUPLICATE_RESOURCE, errorMessage: `Cannot describe SCRAM credentials for the same user twice in a single request: ${user}`, credentialInfos: [] });
      } else if (!this.creds.has(user)) {
        out.push({ user, errorCode: ErrorCode.RESOURCE_NOT_FOUND, errorMessage: `Attempt to describe a user credential that does not exist: ${user}`, credentialInfos: [] });
      } else {
        out.push({ user, errorCode: ErrorCode.NONE, errorMessage: null, credentialInfos: info(user) });
      }
    }
    return out;
  }

  /**
   * AlterUserScramCredentials with Kafka's checks, per user: a user with any invalid or duplicate change has
   * none applied; the valid users' changes are persisted together. One result per user named, in request order.
   */
  alter(deletions: readonly CredentialDeletionRequest[], upsertions: readonly CredentialUpsertion[]): Promise<AlterCredentialsResult[]> {
    const run = this.queue.then(() => this.alterNow(deletions, upsertions));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async alterNow(deletions: readonly CredentialDeletionRequest[], upsertions: readonly CredentialUpsertion[]): Promise<AlterCredentialsResult[]> {
    const errors = new Map<string, { code: number; message: string }>();
    const fail = (user: string, code: number, message: string) => { if (!errors.has(user)) errors.set(user, { code, message }); };
    const order: string[] = [];
    const seen = new Map<string, number>();
    const note = (user: string, mechanism: number) => {
      if (!order.includes(user)) order.push(user);
      const k = `${mechanism}\u0000${user}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    };
    for (const d of deletions) note(d.name, d.mechanism);
    for (const u of upsertions) note(u.name, u.mechanism);

    for (const d of deletions) {
      if (d.name === '') fail(d.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (!mechanismByCode(d.mechanism)) fail(d.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
    }
    for (const u of upsertions) {
      if (u.name === '') fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Username must not be empty');
      else if (!mechanismByCode(u.mechanism)) fail(u.name, ErrorCode.UNSUPPORTED_SASL_MECHANISM, 'Unknown SCRAM mechanism');
      else if (u.iterations < SCRAM_MIN_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too few iterations');
      else if (u.iterations > SCRAM_MAX_ITERATIONS) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Too many iterations');
      else if (u.salt.length === 0 || u.saltedPassword.length === 0) fail(u.name, ErrorCode.UNACCEPTABLE_CREDENTIAL, 'Salt and salted password must not be empty');
    }
    for (const [k, n] of seen) {
      if (n > 1) fail(k.slice(k.indexOf('\u0000') + 1), ErrorCode.DUPLICATE_RESOURCE, 'A user credential cannot be altered twice in the same request');
    }
    for (const d of deletions) {
      const m = mechanismByCode(d.mechanism);
      if (m && !this.creds.get(d.name)?.has(m)) fail(d.name, ErrorCode.RESOURCE_NOT_FOUND, 'Attempt to delete a user credential that does not exist');
    }

    const dels: CredentialDeletion[] = [];
    const ups: StoredScramCredential[] = [];
    for (const d of deletions) if (!errors.has(d.name)) dels.push({ user: d.name, mechanism: mechanismByCode(d.mechanism)! });
    for (const u of upsertions) {
      if (errors.has(u.name)) continue;
      const mechanism = mechanismByCode(u.mechanism)!;
      ups.push({ user: u.name, mechanism, ...credentialFromSaltedPassword(mechanism, u.saltedPassword, u.salt, u.iterations) });
    }
    if (dels.length > 0 || ups.length > 0) {
      try {
        await this.backend.apply(ups, dels);
      } catch (err) {
        const message = `Could not store the credentials: ${err instanceof Error ? err.message : String(err)}`;
        for (const c of [...dels, ...ups]) fail(c.user, ErrorCode.UNKNOWN_SERVER_ERROR, message);
        return order.map((user) => result(user, errors.get(user)));
      }
      const next = new Map([...this.creds].map(([u, m]) => [u, new Map(m)]));
      for (const d of dels) {
        next.get(d.user)?.delete(d.mechanism);
        if (next.get(d.user)?.size === 0) next.delete(d.user);
      }
      for (const u of ups) {
        let m = next.get(u.user);
        if (!m) next.set(u.user, (m = new Map()));
        m.set(u.mechanism, u);
      }
      this.creds = next;
    }
    return order.map((user) => result(user, errors.get(user)));
  }

  async close(): Promise<void> {
    this.unwatch?.();
    await this.queue;
    await this.backend.close?.();
  }
}

function result(user: string, err: { code: number; message: string } | undefined): AlterCredentialsResult {
  return { user, errorCode: err?.code ?? ErrorCode.NONE, errorMessage: err?.message ?? null };
}
