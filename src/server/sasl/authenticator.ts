/**
 * One connection's SASL state on a SASL_PLAINTEXT / SASL_SSL listener (Kafka's SaslServerAuthenticator).
 *
 *   initial ──ApiVersions──▶ initial
 *   initial ──SaslHandshake v1 (enabled mechanism)──▶ authenticate ──SaslAuthenticate…──▶ complete
 *   initial ──SaslHandshake v0──▶ legacy (raw tokens: 4-byte length + bytes, no Kafka header) ──▶ complete
 *   complete ──SaslHandshake (re-authentication, KIP-368)──▶ authenticate ──▶ complete (same principal)
 *   any failure ──▶ failed: the answer (if any) is written, then the connection closes.
 *
 * The connection asks `admit` before decoding each frame: before authentication only ApiVersions,
 * SaslHandshake and SaslAuthenticate pass (in that order, as Kafka's); anything else closes the connection
 * unanswered. After authentication, a session past its lifetime admits nothing but a re-authenticating
 * SaslHandshake.
 */
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import type { SaslHandshakeResponseInit } from '../../protocol/generated/sasl-handshake-response.js';
import type { SaslAuthenticateResponseInit } from '../../protocol/generated/sasl-authenticate-response.js';
import type { BrokerContext } from '../broker-context.js';
import type { ConnectionSession } from '../listeners.js';
import type { AuditEvent } from '../../security/audit.js';
import type { ListenerSasl } from './mechanisms.js';
import type { SaslServerMechanism, SaslStep } from './mechanism.js';

export const SASL_HANDSHAKE_KEY = 17;
export const SASL_AUTHENTICATE_KEY = 36;
const API_VERSIONS_KEY = 18;

type State = 'initial' | 'authenticate' | 'legacy' | 'complete' | 'failed';

export interface SaslRequestInfo {
  readonly clientHost: string;
  readonly clientId: string | null;
}

export class SaslAuthenticator {
  private st: State = 'initial';
  private exchange: SaslServerMechanism | undefined;
  private mechanism: string | undefined;
  /** The mechanism and principal of the last successful authentication. */
  private authenticatedMechanism: string | undefined;
  private authenticatedPrincipal: string | undefined;
  /** SaslAuthenticate version the client used (v1+ can re-authenticate); -1 for the legacy flow. */
  private authenticateVersion = -1;
  private reauthenticating = false;
  /** When the session ends (ms since epoch); undefined = never. */
  private expiresAt: number | undefined;
  /** Set when the connection must close once the pending answer (if any) is written. */
  closeAfterResponse = false;

  constructor(
    readonly listener: ListenerSasl,
    private readonly session: ConnectionSession,
    private readonly broker: BrokerContext,
  ) {}

  /** Authenticated and not in the middle of re-authenticating. */
  get complete(): boolean { return this.st === 'complete'; }
  /** The next frame is a raw SASL token (after a v0 SaslHandshake), not a Kafka request. */
  get expectsRawToken(): boolean { return this.st === 'legacy'; }
  /** The largest frame accepted now. */
  maxReceiveSize(requestMax: number): number { return this.st === 'complete' ? requestMax : this.listener.maxReceiveSize; }

  /** Whether a request with this API key may be handled now; a reason to close the connection if not. */
  admit(apiKey: number, now: number): string | null {
    switch (this.st) {
      case 'initial':
        if (apiKey === API_VERSIONS_KEY || apiKey === SASL_HANDSHAKE_KEY) return null;
        return `unexpected request (API key ${apiKey}) before SASL authentication`;
      case 'authenticate':
        if (apiKey === SASL_AUTHENTICATE_KEY) return null;
        return `unexpected request (API key ${apiKey}) during SASL authentication`;
      case 'legacy':
        return 'unexpected Kafka request during a SASL v0 token exchange';
      case 'failed':
        return 'request after a failed SASL authentication';
      case 'complete':
        if (this.expiresAt !== undefined && now >= this.expiresAt && !(apiKey === SASL_HANDSHAKE_KEY && this.canReauthenticate())) {
          return 'SASL session expired (connections.max.reauth.ms) without re-authentication';
        }
        return null;
    }
  }

  private canReauthenticate(): boolean {
    return this.expiresAt !== undefined && this.authenticateVersion >= 1;
  }

  /** SaslHandshake on this connection (a refusal is answered after connection.failed.authentication.delay.ms). */
  handshake(mechanism: string, version: number, req: SaslRequestInfo): SaslHandshakeResponseInit | Promise<SaslHandshakeResponseInit> {
    const mechanisms = [...this.listener.mechanisms];
    if (this.st === 'complete') {
      if (!this.canReauthenticate()) return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
      if (mechanism !== this.authenticatedMechanism) {
        this.fail(req, mechanism, `SASL mechanism '${mechanism}' requested for re-authentication differs from the original ${this.authenticatedMechanism}`, undefined, 'UNSUPPORTED_SASL_MECHANISM');
        return this.delayed({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms: [this.authenticatedMechanism!] });
      }
      this.reauthenticating = true;
    } else if (this.st !== 'initial') {
      this.fail(req, mechanism, 'SaslHandshake not expected now', undefined, 'ILLEGAL_SASL_STATE');
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms };
    } else if (!this.listener.mechanisms.includes(mechanism)) {
      this.fail(req, mechanism, `Unsupported SASL mechanism ${mechanism}`, undefined, 'UNSUPPORTED_SASL_MECHANISM');
      return this.delayed({ errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms });
    }
    this.mechanism = mechanism;
    this.exchange = this.listener.create(mechanism, this.broker);
    this.st = version === 0 && !this.reauthenticating ? 'legacy' : 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms };
  }

  /** SaslAuthenticate on this connection. */
  async authenticate(authBytes: Buffer, version: number, req: SaslRequestInfo): Promise<SaslAuthenticateResponseInit> {
    if (this.st === 'complete') {
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'SaslAuthenticate request received after successful authentication', authBytes: Buffer.alloc(0) };
    }
    if (this.st !== 'authenticate') {
      this.fail(req, this.mechanism, 'SaslAuthenticate not expected now', undefined, 'ILLEGAL_SASL_STATE');
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, errorMessage: 'Unexpected SaslAuthenticate request', authBytes: Buffer.alloc(0) };
    }
    this.authenticateVersion = version;
    const step = await this.step(authBytes, req);
    if (step.error !== undefined) {
      return this.delayed({ errorCode: ErrorCode.SASL_AUTHENTICATION_FAILED, errorMessage: step.error, authBytes: Buffer.alloc(0) });
    }
    const lifetime = step.done ? this.lifetimeMs : 0;
    return { errorCode: ErrorCode.NONE, errorMessage: null, authBytes: step.response, sessionLifetimeMs: BigInt(lifetime) };
  }

  /** A raw token of the legacy flow: the raw answer, or null when the connection must close unanswered. */
  async rawToken(token: Buffer, req: SaslRequestInfo): Promise<Buffer | null> {
    if (this.st !== 'legacy') return null;
    const step = await this.step(token, req);
    if (step.error !== undefined) return this.delayed(null);
    return step.response;
  }

  /** A failure's answer, held back by connection.failed.authentication.delay.ms (Kafka's brake on guessing). */
  private delayed<T>(answer: T): Promise<T> {
    const ms = this.listener.failedAuthenticationDelayMs;
    if (ms <= 0) return Promise.resolve(answer);
    return new Promise((resolve) => setTimeout(() => resolve(answer), ms).unref());
  }

  private lifetimeMs = 0;

  private async step(token: Buffer, req: SaslRequestInfo): Promise<{ error?: string; response: Buffer; done: boolean }> {
    let step: SaslStep;
    try {
      step = await this.exchange!.step(token);
    } catch (err) {
      // A mechanism must not throw; if one does (e.g. the credential store cannot be read) the client is refused.
      step = { done: true, error: 'Authentication failed due to an internal error' };
      this.broker.audit.record({ ...this.subject(req), type: 'authentication', operation: 'SaslAuthenticate', result: 'failure', error: 'SASL_AUTHENTICATION_FAILED', details: { mechanism: this.mechanism, reason: (err as Error).message } });
      this.st = 'failed';
      this.closeAfterResponse = true;
      return { error: step.error, response: Buffer.alloc(0), done: true };
    }
    if (!step.done) return { response: step.response, done: false };
    if (step.error !== undefined) {
      this.fail(req, this.mechanism, step.error, step.user);
      return { error: step.error, response: Buffer.alloc(0), done: true };
    }
    const principal = step.principal;
    if (this.reauthenticating && principal !== this.authenticatedPrincipal) {
      const error = `Cannot change principals during re-authentication from ${this.authenticatedPrincipal} to ${principal}`;
      this.fail(req, this.mechanism, error, principal);
      return { error, response: Buffer.alloc(0), done: true };
    }
    const now = this.broker.now();
    const limits = [this.listener.maxReauthMs, step.lifetimeMs ?? 0].filter((x) => x > 0);
    this.lifetimeMs = limits.length > 0 ? Math.min(...limits) : 0;
    this.expiresAt = this.lifetimeMs > 0 ? now + this.lifetimeMs : undefined;
    this.authenticatedMechanism = this.mechanism;
    this.authenticatedPrincipal = principal;
    this.session.principal = principal;
    const reauth = this.reauthenticating;
    this.reauthenticating = false;
    this.exchange = undefined;
    this.st = 'complete';
    this.broker.audit.record({ ...this.subject(req), type: 'authentication', operation: 'SaslAuthenticate', result: 'success', details: { mechanism: this.mechanism, ...(reauth ? { reauthentication: true } : {}) } });
    return { response: step.response, done: true };
  }

  private subject(req: SaslRequestInfo): Pick<AuditEvent, 'principal' | 'clientHost' | 'listener' | 'clientId'> {
    return { principal: this.session.principal, clientHost: req.clientHost, listener: this.session.listenerName, clientId: req.clientId };
  }

  private fail(req: SaslRequestInfo, mechanism: string | undefined, reason: string, user?: string, error = 'SASL_AUTHENTICATION_FAILED'): void {
    this.st = 'failed';
    this.closeAfterResponse = true;
    this.exchange = undefined;
    this.broker.audit.record({
      ...this.subject(req), type: 'authentication', operation: 'SaslAuthenticate', result: 'failure', error,
      details: { mechanism: mechanism ?? null, reason, ...(user !== undefined ? { user } : {}) },
    });
  }
}
