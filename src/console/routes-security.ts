/** /api/acls, /api/users, /api/quotas: Kafka's ACLs, SCRAM users and client quotas, as its admin APIs give them. */
import type { AclBindingSpec, AclFilterSpec, ClientQuotaEntity } from '../client/admin.js';
import { asObject, HttpError, optInt, optStr, sendJson, sendNoContent, str, stringList } from './http.js';
import type { Router } from './router.js';

type ScramMechanismName = 'SCRAM-SHA-256' | 'SCRAM-SHA-512';

const SCRAM_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-512'];
const QUOTA_ENTITY_TYPES = ['user', 'client-id', 'ip'];

function aclBinding(b: Record<string, unknown>): AclBindingSpec {
  return {
    resourceType: str(b, 'resourceType').toUpperCase(),
    resourceName: str(b, 'resourceName'),
    patternType: (optStr(b, 'patternType') ?? 'LITERAL').toUpperCase(),
    principal: str(b, 'principal'),
    host: optStr(b, 'host') ?? '*',
    operation: str(b, 'operation').toUpperCase(),
    permissionType: str(b, 'permissionType').toUpperCase(),
  };
}

function aclFilter(b: Record<string, unknown>): AclFilterSpec {
  const up = (k: string): string | undefined => optStr(b, k)?.toUpperCase();
  return {
    resourceType: up('resourceType'), resourceName: optStr(b, 'resourceName') ?? null, patternType: up('patternType'),
    principal: optStr(b, 'principal') ?? null, host: optStr(b, 'host') ?? null, operation: up('operation'), permissionType: up('permissionType'),
  };
}

const bindingView = (a: AclBindingSpec): Required<AclBindingSpec> => ({
  resourceType: a.resourceType, resourceName: a.resourceName, patternType: a.patternType ?? 'LITERAL', principal: a.principal,
  host: a.host ?? '*', operation: a.operation, permissionType: a.permissionType,
});

/** [{type, name}] (name null: the type's default entity) → the client's entity. */
function quotaEntity(v: unknown): ClientQuotaEntity {
  if (!Array.isArray(v) || v.length === 0) throw new HttpError(400, '"entity" must be a non-empty list of {type, name}');
  const e: Record<string, string | null> = {};
  for (const c of v) {
    const o = asObject(c, 'an entity component');
    const type = str(o, 'type');
    if (!QUOTA_ENTITY_TYPES.includes(type)) throw new HttpError(400, `entity type must be one of ${QUOTA_ENTITY_TYPES.join(', ')}, not "${type}"`);
    e[type] = optStr(o, 'name') ?? null;
  }
  return e as ClientQuotaEntity;
}

export function registerSecurityRoutes(router: Router): void {
  router.add('GET', '/api/acls', async ({ app, res }) => {
    sendJson(res, 200, (await app.kafka.admin.describeAcls({})).map(bindingView));
  });

  router.add('POST', '/api/acls', async ({ app, res, body }) => {
    const binding = aclBinding(asObject(await body()));
    const [r] = await app.kafka.admin.createAcls([binding]);
    if (r?.error) throw r.error;
    sendJson(res, 201, bindingView(binding));
  });

  router.add('DELETE', '/api/acls', async ({ app, res, body }) => {
    const filter = aclFilter(asObject(await body()));
    const [r] = await app.kafka.admin.deleteAcls([filter]);
    if (r?.error) throw r.error;
    sendJson(res, 200, { deleted: r?.deleted.length ?? 0 });
  });

  router.add('GET', '/api/users', async ({ app, res }) => {
    const users = await app.kafka.admin.describeUserScramCredentials();
    sendJson(res, 200, users.map((u) => ({ user: u.user, mechanisms: u.credentials.map((c) => ({ mechanism: c.mechanism, iterations: c.iterations })) }))
      .sort((a, b) => (a.user < b.user ? -1 : 1)));
  });

  router.add('POST', '/api/users', async ({ app, res, body }) => {
    const b = asObject(await body());
    const user = str(b, 'user');
    const mechanism = str(b, 'mechanism').toUpperCase();
    if (!SCRAM_MECHANISMS.includes(mechanism)) throw new HttpError(400, `mechanism must be ${SCRAM_MECHANISMS.join(' or ')}`);
    const password = str(b, 'password');
    const iterations = optInt(b, 'iterations', 4096, 16384);
    const [r] = await app.kafka.admin.alterUserScramCredentials([{ user, mechanism: mechanism as ScramMechanismName, password, ...(iterations ? { iterations } : {}) }]);
    if (r?.error) throw r.error;
    sendJson(res, 201, { user, mechanism });
  });

  router.add('DELETE', '/api/users/:user', async ({ app, res, params, query }) => {
    const mechanism = (query.get('mechanism') ?? '').toUpperCase();
    if (!SCRAM_MECHANISMS.includes(mechanism)) throw new HttpError(400, `give ?mechanism=${SCRAM_MECHANISMS.join(' or ')}`);
    const [r] = await app.kafka.admin.alterUserScramCredentials([{ user: params.user!, mechanism: mechanism as ScramMechanismName, delete: true }]);
    if (r?.error) throw r.error;
    sendNoContent(res);
  });

  router.add('GET', '/api/quotas', async ({ app, res }) => {
    const quotas = await app.kafka.admin.describeClientQuotas([]);
    sendJson(res, 200, quotas.map((q) => ({
      entity: Object.entries(q.entity).map(([type, name]) => ({ type, name: name ?? null })),
      values: q.values,
    })));
  });

  router.add('PUT', '/api/quotas', async ({ app, res, body }) => {
    const b = asObject(await body());
    const entity = quotaEntity(b.entity);
    const ops: Array<{ key: string; value: number | null }> = [];
    if (b.set !== undefined && b.set !== null) {
      for (const [key, v] of Object.entries(asObject(b.set, '"set"'))) {
        if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `"set.${key}" must be a number`);
        ops.push({ key, value: v });
      }
    }
    for (const key of stringList(b.delete, 'delete')) ops.push({ key, value: null });
    if (ops.length === 0) throw new HttpError(400, 'nothing to change: give "set" and/or "delete"');
    const [r] = await app.kafka.admin.alterClientQuotas([{ entity, ops }]);
    if (r?.error) throw r.error;
    sendNoContent(res);
  });
}
