/**
 * Where the ACLs live, "with the cluster's metadata", and the changes CreateAcls/DeleteAcls make to them.
 * - single node: FileAclBackend, `<data-dir>/__acls.json`, replaced atomically (temp file, fsync, rename) and
 *   read when the store opens;
 * - cluster: an etcd backend (src/cluster/acls-etcd.ts), one key per binding, whose watch brings every other
 *   broker's change in at once.
 * The store keeps the bindings in an AclAuthorizer (decisions are synchronous) and persists every change
 * through the backend before applying it; changes are serialised, one backend write at a time.
 *
 * File format (version 1): {"version":1,"acls":[{"resourceType":"TOPIC","resourceName":"t","patternType":"LITERAL",
 * "principal":"User:alice","host":"*","operation":"READ","permissionType":"ALLOW"}]}.
 */
import { join } from 'node:path';
import { VersionedJsonFile } from './versioned-json-file.js';
import {
  AclAuthorizer,
  bindingKey,
  filterMatches,
  operationName,
  parseOperation,
  parsePatternType,
  parsePermission,
  parseResourceType,
  patternTypeName,
  permissionName,
  resourceTypeName,
  type AclBinding,
  type AclBindingFilter,
} from './authorizer.js';

export const ACLS_FILE = '__acls.json';

export interface AclBackend {
  load(): Promise<AclBinding[]>;
  /** Writes additions and removals together, or none of them. */
  apply(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void>;
  /** A backend shared by several brokers reports the full set again whenever another writer changed it. */
  watch?(onChange: (all: AclBinding[]) => void): () => void;
  close?(): Promise<void>;
}

/** JSON form of a binding (the file's entries, the etcd values): the enums by name. */
export function bindingToJson(b: AclBinding): Record<string, string> {
  return {
    resourceType: resourceTypeName(b.resourceType),
    resourceName: b.resourceName,
    patternType: patternTypeName(b.patternType),
    principal: b.principal,
    host: b.host,
    operation: operationName(b.operation),
    permissionType: permissionName(b.permissionType),
  };
}

/** Parses bindingToJson's form; throws on anything else. */
export function bindingFromJson(v: unknown): AclBinding {
  const o = v as Record<string, unknown> | null;
  const str = (k: string): string => {
    const s = o?.[k];
    if (typeof s !== 'string') throw new Error(`not an ACL binding: ${JSON.stringify(v)}`);
    return s;
  };
  const code = (k: string, parse: (s: string) => number | undefined): number => {
    const c = parse(str(k));
    if (c === undefined) throw new Error(`not an ACL binding (${k}): ${JSON.stringify(v)}`);
    return c;
  };
  return {
    resourceType: code('resourceType', parseResourceType),
    resourceName: str('resourceName'),
    patternType: code('patternType', parsePatternType),
    principal: str('principal'),
    host: str('host'),
    operation: code('operation', parseOperation),
    permissionType: code('permissionType', parsePermission),
  };
}

export class FileAclBackend implements AclBackend {
  private readonly store: VersionedJsonFile<AclBinding>;
  readonly file: string;

  constructor(dataDir: string) {
    this.store = new VersionedJsonFile(join(dataDir, ACLS_FILE), { field: 'acls', keyOf: bindingKey, toJson: bindingToJson, fromJson: bindingFromJson });
    this.file = this.store.file;
  }

  load(): Promise<AclBinding[]> {
    return this.store.load();
  }

  apply(add: readonly AclBinding[], remove: readonly AclBinding[]): Promise<void> {
    return this.store.update((next) => {
      for (const b of remove) next.delete(bindingKey(b));
      for (const b of add) next.set(bindingKey(b), b);
    });
  }
}

/** The ACL set: an AclAuthorizer kept equal to the backend's content. */
export class AclStore {
  private queue: Promise<unknown> = Promise.resolve();
  private unwatch: (() => void) | undefined;

  private constructor(private readonly backend: AclBackend, readonly authorizer: AclAuthorizer) {}

  static async open(backend: AclBackend, authorizer: AclAuthorizer): Promise<AclStore> {
    const store = new AclStore(backend, authorizer);
    authorizer.setAcls(await backend.load());
    store.unwatch = backend.watch?.((all) => store.replace(all));
    return store;
  }

  private replace(all: readonly AclBinding[]): void {
    this.authorizer.setAcls(all);
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Adds bindings (those already present are kept once). */
  create(bindings: readonly AclBinding[]): Promise<void> {
    return this.serialised(async () => {
      const have = new Set(this.authorizer.acls().map(bindingKey));
      const add = bindings.filter((b) => !have.has(bindingKey(b)));
      if (add.length === 0) return;
      await this.backend.apply(add, []);
      this.replace([...this.authorizer.acls(), ...add]);
    });
  }

  /** Removes every binding matching each filter; returns, per filter, the bindings it removed. */
  delete(filters: readonly AclBindingFilter[]): Promise<AclBinding[][]> {
    return this.serialised(async () => {
      const current = this.authorizer.acls();
      const perFilter = filters.map((f) => current.filter((b) => filterMatches(f, b)));
      const gone = new Map<string, AclBinding>();
      for (const list of perFilter) for (const b of list) gone.set(bindingKey(b), b);
      if (gone.size > 0) {
        await this.backend.apply([], [...gone.values()]);
        this.replace(current.filter((b) => !gone.has(bindingKey(b))));
      }
      return perFilter;
    });
  }

  async close(): Promise<void> {
    this.unwatch?.();
    await this.backend.close?.();
  }
}
