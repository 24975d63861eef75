/**
 * Kafka's standard authorizer semantics (security/authorizer.ts) and the ACL store (security/acl-store.ts):
 * deny wins, literal/prefixed/wildcard patterns, implied operations, principals and hosts, super users,
 * allow.everyone.if.no.acl.found, authorizeByResourceType, filters (ANY/MATCH), validation, persistence.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AclAuthorizer, MATCH_ALL_FILTER, Operation as Op, PatternType, Permission, ResourceType as RT,
  bindingError, filterError, filterMatches, parseSuperUsers, unsupportedOperationError, type AclBinding,
} from '../../../src/security/authorizer.js';
import { AclStore, FileAclBackend, bindingFromJson, bindingToJson } from '../../../src/security/acl-store.js';

const acl = (p: Partial<AclBinding> & Pick<AclBinding, 'resourceName' | 'operation'>): AclBinding => ({
  resourceType: RT.TOPIC, patternType: PatternType.LITERAL, principal: 'User:alice', host: '*', permissionType: Permission.ALLOW, ...p,
});
const alice = { principal: 'User:alice', host: '10.0.0.1' };
const bob = { principal: 'User:bob', host: '10.0.0.2' };

function authorizer(acls: AclBinding[], opts: ConstructorParameters<typeof AclAuthorizer>[0] = {}): AclAuthorizer {
  const a = new AclAuthorizer(opts);
  a.setAcls(acls);
  return a;
}

describe('authorization decisions', () => {
  test('no ACL on a resource: denied, unless allow.everyone.if.no.acl.found', () => {
    assert.equal(authorizer([]).authorize(alice, Op.READ, RT.TOPIC, 't'), false);
    assert.equal(authorizer([], { allowEveryoneIfNoAclFound: true }).authorize(alice, Op.READ, RT.TOPIC, 't'), true);
    // Once the resource has any ACL (for anyone), allow.everyone no longer applies to it.
    const a = authorizer([acl({ resourceName: 't', operation: Op.READ, principal: 'User:carol' })], { allowEveryoneIfNoAclFound: true });
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 't'), false);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'other'), true);
  });

  test('a literal ALLOW grants its operation to its principal only, on its resource only', () => {
    const a = authorizer([acl({ resourceName: 't', operation: Op.READ })]);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 't'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 't'), false);
    assert.equal(a.authorize(bob, Op.READ, RT.TOPIC, 't'), false);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 't2'), false);
    assert.equal(a.authorize(alice, Op.READ, RT.GROUP, 't'), false);
  });

  test('deny wins over allow, from any matching pattern', () => {
    const a = authorizer([
      acl({ resourceName: '*', operation: Op.ALL }),
      acl({ resourceName: 'secret', patternType: PatternType.PREFIXED, operation: Op.READ, permissionType: Permission.DENY }),
    ]);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'public'), true);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 'secret-1'), false);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'secret-1'), true);
    // A DENY on READ does not deny the DESCRIBE it would imply as an ALLOW.
    assert.equal(a.authorize(alice, Op.DESCRIBE, RT.TOPIC, 'secret-1'), true);
    const b = authorizer([acl({ resourceName: 't', operation: Op.READ }), acl({ resourceName: 't', operation: Op.ALL, permissionType: Permission.DENY, principal: 'User:*' })]);
    assert.equal(b.authorize(alice, Op.READ, RT.TOPIC, 't'), false);
  });

  test('prefixed and wildcard patterns', () => {
    const a = authorizer([
      acl({ resourceName: 'orders-', patternType: PatternType.PREFIXED, operation: Op.WRITE }),
      acl({ resourceName: '*', operation: Op.DESCRIBE, principal: 'User:bob' }),
    ]);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'orders-eu'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'orders-'), true);
    assert.equal(a.authorize(alice, Op.WRITE, RT.TOPIC, 'order'), false);
    assert.equal(a.authorize(bob, Op.DESCRIBE, RT.TOPIC, 'anything'), true);
    assert.equal(a.authorize(bob, Op.READ, RT.TOPIC, 'anything'), false);
    // A literal "*" ACL is the wildcard; a topic literally named with a prefix pattern's characters is not.
    assert.equal(authorizer([acl({ resourceName: 'a*', operation: Op.READ })]).authorize(alice, Op.READ, RT.TOPIC, 'ab'), false);
  });

  test('implied operations: READ/WRITE/DELETE/ALTER imply DESCRIBE, ALTER_CONFIGS implies DESCRIBE_CONFIGS, ALL implies all', () => {
    for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
      assert.equal(authorizer([acl({ resourceName: 't', operation: op })]).authorize(alice, Op.DESCRIBE, RT.TOPIC, 't'), true, `op ${op}`);
    }
    assert.equal(authorizer([acl({ resourceName: 't', operation: Op.CREATE })]).authorize(alice, Op.DESCRIBE, RT.TOPIC, 't'), false);
    assert.equal(authorizer([acl({ resourceName: 't', operation: Op.ALTER_CONFIGS })]).authorize(alice, Op.DESCRIBE_CONFIGS, RT.TOPIC, 't'), true);
    assert.equal(authorizer([acl({ resourceName: 't', operation: Op.DESCRIBE })]).authorize(alice, Op.READ, RT.TOPIC, 't'), false);
    const all = authorizer([acl({ resourceName: 't', operation: Op.ALL })]);
    for (const op of [Op.READ, Op.WRITE, Op.CREATE, Op.DELETE, Op.ALTER, Op.DESCRIBE, Op.DESCRIBE_CONFIGS, Op.ALTER_CONFIGS]) assert.equal(all.authorize(alice, op, RT.TOPIC, 't'), true);
  });

  test('principal wildcard and host matching (IPv4-mapped addresses included)', () => {
    const a = authorizer([
      acl({ resourceName: 't', operation: Op.READ, principal: 'User:*', host: '10.0.0.1' }),
      acl({ resourceName: 't', operation: Op.WRITE, principal: 'User:*', host: '*' }),
    ]);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 't'), true);
    assert.equal(a.authorize({ principal: 'User:zed', host: '::ffff:10.0.0.1' }, Op.READ, RT.TOPIC, 't'), true);
    assert.equal(a.authorize(bob, Op.READ, RT.TOPIC, 't'), false);
    assert.equal(a.authorize(bob, Op.WRITE, RT.TOPIC, 't'), true);
    const deniedHost = authorizer([acl({ resourceName: 't', operation: Op.READ }), acl({ resourceName: 't', operation: Op.READ, host: '10.0.0.9', permissionType: Permission.DENY })]);
    assert.equal(deniedHost.authorize(alice, Op.READ, RT.TOPIC, 't'), true);
    assert.equal(deniedHost.authorize({ ...alice, host: '10.0.0.9' }, Op.READ, RT.TOPIC, 't'), false);
  });

  test('super.users are allowed everything, deny ACLs notwithstanding', () => {
    assert.deepEqual(parseSuperUsers(' User:admin ; User:broker;;'), ['User:admin', 'User:broker']);
    const a = authorizer([acl({ resourceName: 't', operation: Op.ALL, principal: 'User:admin', permissionType: Permission.DENY })], { superUsers: ['User:admin'] });
    assert.equal(a.authorize({ principal: 'User:admin', host: '1.2.3.4' }, Op.ALL, RT.CLUSTER, 'kafka-cluster'), true);
    assert.equal(a.authorize({ principal: 'User:admin', host: '1.2.3.4' }, Op.READ, RT.TOPIC, 't'), true);
    assert.equal(a.authorize(alice, Op.READ, RT.TOPIC, 't'), false);
  });

  test('authorizeAny (idempotent producers): some topic writable and not covered by a deny', () => {
    assert.equal(authorizer([acl({ resourceName: 'x-', patternType: PatternType.PREFIXED, operation: Op.WRITE })]).authorizeAny(alice, Op.WRITE, RT.TOPIC), true);
    assert.equal(authorizer([acl({ resourceName: 'x', operation: Op.READ })]).authorizeAny(alice, Op.WRITE, RT.TOPIC), false);
    assert.equal(authorizer([
      acl({ resourceName: 'x-1', operation: Op.WRITE }),
      acl({ resourceName: 'x-', patternType: PatternType.PREFIXED, operation: Op.WRITE, permissionType: Permission.DENY }),
    ]).authorizeAny(alice, Op.WRITE, RT.TOPIC), false);
    assert.equal(authorizer([
      acl({ resourceName: 'x', operation: Op.WRITE }),
      acl({ resourceName: '*', operation: Op.ALL, permissionType: Permission.DENY }),
    ]).authorizeAny(alice, Op.WRITE, RT.TOPIC), false);
    assert.equal(authorizer([acl({ resourceName: 'x', operation: Op.WRITE })]).authorizeAny(bob, Op.WRITE, RT.TOPIC), false);
  });

  test('authorized operations as a bit field', () => {
    const a = authorizer([acl({ resourceName: 't', operation: Op.READ }), acl({ resourceName: 't', operation: Op.ALTER_CONFIGS })]);
    const bits = a.authorizedOperations(alice, RT.TOPIC, 't');
    assert.equal(bits, (1 << Op.READ) | (1 << Op.DESCRIBE) | (1 << Op.ALTER_CONFIGS) | (1 << Op.DESCRIBE_CONFIGS));
    assert.equal(a.authorizedOperations(bob, RT.TOPIC, 't'), 0);
  });
});

describe('filters and validation', () => {
  const prefixed = acl({ resourceName: 'orders-', patternType: PatternType.PREFIXED, operation: Op.READ });
  const literal = acl({ resourceName: 'orders-eu', operation: Op.WRITE, principal: 'User:bob' });
  const wildcard = acl({ resourceName: '*', operation: Op.DESCRIBE });
  const other = acl({ resourceName: 'g', resourceType: RT.GROUP, operation: Op.READ });

  test('ANY, LITERAL, PREFIXED and MATCH pattern filters', () => {
    const all = [prefixed, literal, wildcard, other];
    const f = (p: Partial<typeof MATCH_ALL_FILTER>) => all.filter((b) => filterMatches({ ...MATCH_ALL_FILTER, ...p }, b));
    assert.deepEqual(f({}), all);
    assert.deepEqual(f({ resourceType: RT.TOPIC, patternType: PatternType.LITERAL }), [literal, wildcard]);
    assert.deepEqual(f({ resourceType: RT.TOPIC, patternType: PatternType.PREFIXED }), [prefixed]);
    assert.deepEqual(f({ resourceType: RT.TOPIC, resourceName: 'orders-eu', patternType: PatternType.MATCH }), [prefixed, literal, wildcard]);
    assert.deepEqual(f({ resourceName: 'orders-eu' }), [literal]);
    assert.deepEqual(f({ principal: 'User:bob' }), [literal]);
    assert.deepEqual(f({ operation: Op.READ, permissionType: Permission.ALLOW }), [prefixed, other]);
    assert.deepEqual(f({ permissionType: Permission.DENY }), []);
  });

  test('invalid bindings and filters are refused with a reason', () => {
    assert.equal(bindingError(literal), null);
    assert.match(bindingError({ ...literal, resourceType: RT.ANY })!, /resource type/);
    assert.match(bindingError({ ...literal, patternType: PatternType.MATCH })!, /pattern type/);
    assert.match(bindingError({ ...literal, operation: Op.ANY })!, /operation/);
    assert.match(bindingError({ ...literal, permissionType: Permission.ANY })!, /permission/);
    assert.match(bindingError({ ...literal, resourceName: '' })!, /empty/);
    assert.match(bindingError({ ...literal, principal: 'alice' })!, /principal/);
    assert.match(bindingError({ ...literal, resourceType: RT.CLUSTER, resourceName: 'c' })!, /kafka-cluster/);
    assert.equal(filterError(MATCH_ALL_FILTER), null);
    assert.match(filterError({ ...MATCH_ALL_FILTER, resourceType: RT.UNKNOWN })!, /resource type/);
    assert.match(filterError({ ...MATCH_ALL_FILTER, operation: 42 })!, /operation/);
    assert.equal(unsupportedOperationError(RT.TOPIC, Op.READ), null);
    assert.match(unsupportedOperationError(RT.GROUP, Op.WRITE)!, /GROUP only supports operations ALL, READ, DESCRIBE/);
  });

  test('JSON form round-trips', () => {
    for (const b of [prefixed, literal, wildcard, other]) assert.deepEqual(bindingFromJson(bindingToJson(b)), b);
    assert.deepEqual(bindingToJson(prefixed), { resourceType: 'TOPIC', resourceName: 'orders-', patternType: 'PREFIXED', principal: 'User:alice', host: '*', operation: 'READ', permissionType: 'ALLOW' });
    assert.throws(() => bindingFromJson({ resourceType: 'NOPE' }), /not an ACL binding/);
  });
});

describe('the ACL store in the data dir', () => {
  test('creates (once), deletes by filter, and survives a reopen', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-acls-'));
    try {
      const store = await AclStore.open(new FileAclBackend(dir), new AclAuthorizer());
      const a = acl({ resourceName: 't', operation: Op.READ });
      const b = acl({ resourceName: 'p-', patternType: PatternType.PREFIXED, operation: Op.WRITE, principal: 'User:bob' });
      await store.create([a, b, a]);
      await store.create([a]);
      assert.equal(store.authorizer.acls().length, 2);
      assert.equal(store.authorizer.authorize(alice, Op.READ, RT.TOPIC, 't'), true);
      const reopened = await AclStore.open(new FileAclBackend(dir), new AclAuthorizer());
      assert.deepEqual(reopened.authorizer.acls(), [a, b]);
      const removed = await reopened.delete([{ ...MATCH_ALL_FILTER, principal: 'User:bob' }, { ...MATCH_ALL_FILTER, principal: 'User:nobody' }]);
      assert.deepEqual(removed, [[b], []]);
      const third = await AclStore.open(new FileAclBackend(dir), new AclAuthorizer());
      assert.deepEqual(third.authorizer.acls(), [a]);
      assert.match(await readFile(join(dir, '__acls.json'), 'utf8'), /"version": 1/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
