/**
 * Connection limits, as Kafka's ConnectionQuotas (KIP-402, KIP-612), checked when a connection is accepted:
 * - `max.connections.per.ip` and `max.connections.per.ip.overrides` (`host:count,…`): over the limit, the new
 *   connection is closed.
 * - `listener.name.<l>.max.connections` and broker-wide `max.connections` (the inter-broker listener is exempt
 *   from the broker-wide one when there are other listeners, as in Kafka): over the limit, the new connection is closed. (Kafka's acceptor stops
 *   accepting until a slot frees instead; closing cannot wedge the accept loop and tells the client at once.)
 * - `listener.name.<l>.max.connection.creation.rate` and broker-wide `max.connection.creation.rate` (KIP-612,
 *   the inter-broker listener exempt from the broker-wide one): over the rate, the connection is held (not read)
 *   for the throttle time before it is served, as Kafka's throttled acceptor delays it.
 * - `connection_creation_rate` client quotas on IP entities (an IP's own, else `<default>`): over the rate, the
 *   connection is closed after the throttle time (so the client does not reconnect in a tight loop).
 * Rates are measured like client quotas (quota.window.num × quota.window.size.seconds samples).
 */
import { ConfigError, type BrokerConfig } from './config.js';
import { Rate } from './client-quota-manager.js';
import type { ClientQuotaStore } from '../security/client-quotas.js';

const INT_MAX = 2147483647;

export type AdmitDecision =
  | { readonly ok: true; readonly delayMs: number }
  | { readonly ok: false; readonly reason: string; readonly closeAfterMs: number };

/** Parses `host:count,host:count` (Kafka's max.connections.per.ip.overrides). */
export function parsePerIpOverrides(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of text.split(',').map((e) => e.trim()).filter(Boolean)) {
    const i = entry.lastIndexOf(':');
    const n = Number(entry.slice(i + 1));
    if (i <= 0 || !Number.isInteger(n) || n < 0) throw new ConfigError(`Invalid max.connections.per.ip.overrides entry '${entry}' (expected host:count)`);
    out.set(entry.slice(0, i), n);
  }
  return out;
}

export class ConnectionQuotas {
  private readonly perIp = new Map<string, number>();
  private readonly perListener = new Map<string, number>();
  private total = 0;
  private readonly rates = new Map<string, Rate>();
  private overridesText: string | undefined;
  private overrides = new Map<string, number>();

  constructor(
    private readonly config: BrokerConfig,
    /** Exempt from the broker-wide limits when the broker has other listeners too (Kafka's protected listener). */
    private readonly protectedListener: string | null,
    private readonly quotas?: ClientQuotaStore,
  ) {
    this.perIpOverrides(); // a bad list stops start-up
    for (const [key, value] of config) {
      if (/^listener\.name\.[^.]+\.max\.connect(ions|ion\.creation\.rate)$/.test(key) && !(Number.isInteger(Number(value)) && Number(value) >= 0)) {
        throw new ConfigError(`Invalid value ${value} for configuration ${key}: expected a whole number ≥ 0`);
      }
    }
  }

  private int(key: string): number {
    const v = this.config.get(key);
    return v === undefined || v === '' ? INT_MAX : Number(v);
  }

  private listenerInt(listener: string, key: string): number {
    return this.int(`listener.name.${listener.toLowerCase()}.${key}`);
  }

  private perIpOverrides(): Map<string, number> {
    const text = this.config.get('max.connections.per.ip.overrides') ?? '';
    if (text !== this.overridesText) {
      this.overrides = parsePerIpOverrides(text);
      this.overridesText = text;
    }
    return this.overrides;
  }

  private rate(key: string): Rate {
    let r = this.rates.get(key);
    if (!r) this.rates.set(key, (r = new Rate(Math.max(1, this.int('quota.window.num')), Math.max(1, this.int('quota.window.size.seconds')) * 1000)));
    return r;
  }

  /** Records `1` against a rate limit and returns the throttle time (0 within the limit). */
  private throttle(key: string, limit: number, now: number): number {
    if (limit >= INT_MAX) return 0;
    const r = this.rate(key);
    r.record(1, now);
    const observed = r.measure(now);
    if (observed <= limit) return 0;
    const windowMs = r.windowSizeMs(now);
    const maxMs = Math.max(1, this.int('quota.window.num')) * Math.max(1, this.int('quota.window.size.seconds')) * 1000;
    return limit === 0 ? maxMs : Math.min(maxMs, Math.round(((observed - limit) / limit) * windowMs));
  }

  /** Decides on a connection just accepted on `listener` from `ip`; an admitted one is counted until release(). */
  admit(listener: string, ip: string, now: number): AdmitDecision {
    const ipLimit = this.perIpOverrides().get(ip) ?? this.int('max.connections.per.ip');
    if ((this.perIp.get(ip) ?? 0) >= ipLimit) return { ok: false, reason: `Too many connections from ${ip} (maximum = ${ipLimit})`, closeAfterMs: 0 };
    const listenerLimit = this.listenerInt(listener, 'max.connections');
    if ((this.perListener.get(listener) ?? 0) >= listenerLimit) return { ok: false, reason: `listener ${listener} has ${listenerLimit} connections (listener.name.${listener.toLowerCase()}.max.connections)`, closeAfterMs: 0 };
    const interBroker = listener === this.protectedListener;
    const brokerLimit = this.int('max.connections');
    if (!interBroker && this.total >= brokerLimit) return { ok: false, reason: `the broker has ${brokerLimit} connections (max.connections)`, closeAfterMs: 0 };

    const ipQuota = this.quotas?.get({ ip })?.connection_creation_rate ?? this.quotas?.get({ ip: null })?.connection_creation_rate;
    if (ipQuota !== undefined) {
      const t = this.throttle(`ip\u0000${ip}`, ipQuota, now);
      if (t > 0) return { ok: false, reason: `connection creation rate of ${ip} is over its connection_creation_rate quota (${ipQuota}/s)`, closeAfterMs: t };
    }
    const delayMs = Math.max(
      this.throttle(`listener\u0000${listener}`, this.listenerInt(listener, 'max.connection.creation.rate'), now),
      interBroker ? 0 : this.throttle('broker', this.int('max.connection.creation.rate'), now),
    );
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.perListener.set(listener, (this.perListener.get(listener) ?? 0) + 1);
    this.total++;
    return { ok: true, delayMs };
  }

  release(listener: string, ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    this.perListener.set(listener, Math.max(0, (this.perListener.get(listener) ?? 1) - 1));
    this.total = Math.max(0, this.total - 1);
  }

  /** Open connections counted (for tests and metrics). */
  count(): { total: number; perIp: ReadonlyMap<string, number> } {
    return { total: this.total, perIp: this.perIp };
  }
}
