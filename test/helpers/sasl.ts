/**
 * SASL helpers for tests: SCRAM users put straight into a broker's credential store, the PLAIN JAAS line, and a
 * raw-socket exchange (SaslHandshake + SaslAuthenticate over RawClient) for tests that need exact control.
 */
import { randomBytes } from 'node:crypto';
import type { BrokerContext } from '../../src/server/broker-context.js';
import { scramCredentialsOf } from '../../src/server/scram-credentials.js';
import { mechanismCode, saltedPassword, ScramClient, type ScramMechanismName } from '../../src/security/scram.js';
import { plainMessage } from '../../src/security/plain.js';
import type { RawClient } from './raw-client.js';

export const PLAIN_MODULE = 'org.apache.kafka.common.security.plain.PlainLoginModule';

/** `PlainLoginModule required user_<name>="<pw>" …;` */
export function plainJaas(users: Record<string, string>): string {
  return `${PLAIN_MODULE} required ${Object.entries(users).map(([u, p]) => `user_${u}="${p}"`).join(' ')};`;
}

/** Adds (or replaces) SCRAM credentials of `user` for each mechanism, as AlterUserScramCredentials would. */
export async function addScramUser(broker: BrokerContext, user: string, password: string, mechanisms: readonly ScramMechanismName[] = ['SCRAM-SHA-256', 'SCRAM-SHA-512']): Promise<void> {
  const store = await scramCredentialsOf(broker);
  const upsertions = mechanisms.map((m) => {
    const salt = randomBytes(24);
    return { name: user, mechanism: mechanismCode(m), iterations: 4096, salt, saltedPassword: saltedPassword(m, password, salt, 4096) };
  });
  const results = await store.alter([], upsertions);
  for (const r of results) if (r.errorCode !== 0) throw new Error(`cannot add ${user}: ${r.errorMessage}`);
}

export interface AuthenticateResult {
  errorCode: number;
  errorMessage: string | null;
  sessionLifetimeMs: bigint;
}

/** SaslHandshake v1 + SaslAuthenticate (PLAIN or SCRAM) on a raw connection; returns the last SaslAuthenticate answer. */
export async function rawAuthenticate(c: RawClient, mechanism: string, user: string, password: string, authVersion = 2): Promise<AuthenticateResult> {
  const hs = await c.send(17, 1, { mechanism });
  if (hs.errorCode !== 0) return { errorCode: hs.errorCode, errorMessage: `handshake: ${hs.mechanisms.join(',')}`, sessionLifetimeMs: 0n };
  if (mechanism === 'PLAIN') {
    return c.send(36, authVersion, { authBytes: plainMessage(user, password) });
  }
  const client = new ScramClient(mechanism as ScramMechanismName, user, password);
  const first = await c.send(36, authVersion, { authBytes: client.first() });
  if (first.errorCode !== 0) return first;
  const final = await c.send(36, authVersion, { authBytes: client.final(first.authBytes) });
  if (final.errorCode === 0) client.verify(final.authBytes);
  return final;
}
