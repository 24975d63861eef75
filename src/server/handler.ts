/**
 * The shape of one API handler. Each file in handlers/ declares its API, its supported version range and
 * its logic, once; the registry collects them and ApiVersions is computed from the registry.
 */
import type { MessageCodec } from '../protocol/primitives/codec.js';
import type { Logger } from '../logger.js';
import type { BrokerContext } from './broker-context.js';
import type { ConnectionSession } from './listeners.js';
import type { SaslAuthenticator } from './sasl/authenticator.js';

export interface RequestContext {
  readonly apiKey: number;
  readonly apiVersion: number;
  readonly correlationId: number;
  readonly clientId: string | null;
  readonly clientHost: string;
  readonly broker: BrokerContext;
  readonly logger: Logger;
  /** Aborted when the broker shuts down: long-polling handlers answer at once. */
  readonly signal: AbortSignal;
  /** The connection's listener and principal (absent for requests made in-process, e.g. by tests). */
  readonly session?: ConnectionSession;
  /** The connection's SASL state, on SASL_PLAINTEXT / SASL_SSL listeners only. */
  readonly sasl?: SaslAuthenticator;
  /**
   * Runs `fn` once the response has been written to the socket in full, so buffers it carried by reference
   * may be reused; never if the connection fails or closes first (absent for in-process requests).
   */
  readonly afterResponse?: (fn: () => void) => void;
}

export interface Handler<Req = any, Res = any> {
  readonly apiKey: number;
  readonly name: string;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly request: MessageCodec<Req, any>;
  readonly response: MessageCodec<any, Res>;
  /**
   * Whether the request may run while earlier requests on the same connection are still being handled.
   * Kafka handles a connection's requests one at a time; Tributary does too, except for the data-path APIs
   * that declare `concurrent` (their effects are applied synchronously in arrival order, so overlapping them
   * only overlaps their waits: fsync, long polls). Responses always leave in request order.
   */
  readonly concurrent: boolean;
  /** Returns the response, or null when the request gets none (Produce with acks=0). */
  handle(req: Req, ctx: RequestContext): Res | null | Promise<Res | null>;
}

export function defineHandler<Req, ResFull, ResInit>(def: {
  request: MessageCodec<Req, any>;
  response: MessageCodec<ResFull, ResInit>;
  minVersion?: number;
  maxVersion?: number;
  concurrent?: boolean;
  handle: (req: Req, ctx: RequestContext) => ResInit | null | Promise<ResInit | null>;
}): Handler<Req, ResInit> {
  const minVersion = def.minVersion ?? def.request.minVersion;
  const maxVersion = def.maxVersion ?? def.request.maxVersion;
  if (minVersion < def.request.minVersion || maxVersion > def.request.maxVersion || minVersion > maxVersion) {
    throw new Error(`${def.request.name}: version range ${minVersion}-${maxVersion} is outside the spec's`);
  }
  return {
    apiKey: def.request.apiKey,
    name: def.request.name,
    minVersion,
    maxVersion,
    request: def.request,
    response: def.response,
    concurrent: def.concurrent ?? false,
    handle: def.handle,
  };
}
