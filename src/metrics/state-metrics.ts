/**
 * The broker's state as Prometheus gauges, computed when scraped (not on the request path): logs, replicas,
 * controller, groups and their lag, transactions. Registered by BrokerMetrics (metrics/broker-metrics.ts).
 */
import type { Registry } from 'prom-client';
import type { BrokerContext } from '../server/broker-context.js';

export function registerStateMetrics(_registry: Registry, _ctx: BrokerContext): void {
  // Filled in by the state-metrics work (issue 12).
}
