/**
 * Prometheus metrics on a private registry (one per engine, so tests and embedders do not share
 * global state): calls, refreshes, breaker opens, upstream latency.
 *
 * @module
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry()
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'patchbay_' })
  return {
    registry,
    requests: new Counter({
      name: 'patchbay_requests_total',
      help: 'Custom-action calls through the pipeline, by outcome (HTTP status class, or error code)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    refreshes: new Counter({
      name: 'patchbay_refreshes_total',
      help: 'Credential refreshes, by outcome',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    breakerOpens: new Counter({
      name: 'patchbay_breaker_opens_total',
      help: 'Times a circuit breaker opened',
      registers: [registry],
    }),
    upstreamLatency: new Histogram({
      name: 'patchbay_upstream_latency_seconds',
      help: 'Time from a call entering the pipeline to the upstream answer (headers)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>
