import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

// 10 ms steps around the 100 ms threshold the operator acts on (histogram_quantile interpolates
// inside a bucket, so its resolution is the bucket width), coarse far from it.
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.06, 0.07, 0.08, 0.09, 0.1, 0.11, 0.125, 0.15, 0.2, 0.3, 0.5, 1, 2.5,
  5,
];

/** `queueLength` is read at each scrape, so the gauge is always current. */
export function createMetrics(queueLength: () => number) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry }); // process CPU, memory, event loop lag, ...
  // #region histogram
  const latency = new Histogram({
    name: 'request_latency_seconds',
    help: 'Time to answer a request, by method and route (the route pattern, never the raw path).',
    labelNames: ['method', 'route'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  // #endregion histogram
  new Gauge({
    name: 'slow_queue_length',
    help: 'Requests to /slow waiting for a free slot on this replica.',
    registers: [registry],
    collect() {
      this.set(queueLength());
    },
  });
  return { registry, latency };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Observes every request's latency, except the scrapes and the probes (they are not traffic). */
export function measureLatency({ latency }: Metrics): RequestHandler {
  return (req, res, next) => {
    if (req.path === '/metrics' || req.path.startsWith('/check/')) return next();
    const end = latency.startTimer({ method: req.method });
    // eslint-disable-next-line @typescript-eslint/no-unsafe-member-access -- req.route is any
    res.on('finish', () => end({ route: req.route ? String(req.route.path) : 'unmatched' }));
    next();
  };
}
