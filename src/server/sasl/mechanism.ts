/**
 * The broker's side of a SASL mechanism, as one small interface: each connection that authenticates gets a
 * fresh `SaslServerMechanism` from its factory and feeds it the client's tokens (SaslAuthenticate auth_bytes, or
 * the raw tokens of the legacy v0 flow) until it says `done`. Mechanisms never throw on client input: a failed
 * exchange is a step with `error` (sent as SASL_AUTHENTICATION_FAILED's message, so it must not reveal secrets).
 *
 * A mechanism is added by writing a factory and listing it in mechanisms.ts (PLAIN, SCRAM-SHA-256/512 today;
 * OAUTHBEARER plugs in the same way).
 */
import type { BrokerConfig } from '../config.js';
import type { BrokerContext } from '../broker-context.js';

export type SaslStep =
  /** More tokens to come: send `response` and wait for the client's next one. */
  | { readonly done: false; readonly response: Buffer }
  /** Authenticated as `principal` (User:<name>); `lifetimeMs` caps the session (e.g. a token's expiry). */
  | { readonly done: true; readonly response: Buffer; readonly principal: string; readonly lifetimeMs?: number; readonly error?: undefined }
  /** Refused: `error` goes to the client; `user` (the claimed name, if known) only to the audit trail. */
  | { readonly done: true; readonly response?: Buffer; readonly error: string; readonly user?: string; readonly principal?: undefined };

export interface SaslServerMechanism {
  readonly name: string;
  step(token: Buffer): Promise<SaslStep>;
}

/** What a factory may read when a listener starts. */
export interface SaslMechanismSetup {
  readonly config: BrokerConfig;
  /** Upper-case listener name. */
  readonly listenerName: string;
  /**
   * The listener's JAAS config value for this mechanism: `listener.name.<listener>.<mechanism>.sasl.jaas.config`,
   * else `sasl.jaas.config`; undefined when neither is set.
   */
  readonly jaasConfig: { readonly key: string; readonly value: string } | undefined;
}

export interface SaslMechanismFactory {
  /** The IANA name clients ask for in SaslHandshake (PLAIN, SCRAM-SHA-512, …). */
  readonly name: string;
  /**
   * Checks the listener's settings at start-up (throws ConfigError naming the key) and returns how to make one
   * exchange for a connection of that listener.
   */
  configure(setup: SaslMechanismSetup): (broker: BrokerContext) => SaslServerMechanism;
}
