/**
 * ONE instant query per tick to Prometheus's HTTP API, for every LatencyScaler of the namespace:
 * the kit's recorded series (k8s/prometheus/rules.yml, group app-demand) of all their targets at
 * once: the p95, the request rate and the requests in flight, over 10 s (and the requests in
 * flight over 4 s). The operator never computes a quantile itself, and the Prometheus it asks is
 * its own setting (PROMETHEUS_URL), never a field of the resource.
 */
import type { Metric } from './decide.js';

export const P95 = 'app:request_latency_seconds:p95_10s';
/** Recorded even when it is 0 (rules.yml), so "no traffic" is a sample and not an absence. */
export const RATE = 'app:requests:rate_10s';
/** The demand: requests in flight, all replicas together (Little's law). */
export const IN_FLIGHT = 'app:requests_in_flight:avg_10s';
/** The same over the last 4 s: the demand now, and whether a load is ending (decide.ts FALLING). */
export const IN_FLIGHT_NOW = 'app:requests_in_flight:avg_4s';

/** A string as a PromQL double-quoted literal: backslashes and quotes escaped. */
export function promString(value: string): string {
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`).replace(/\n/g, '\\n')}"`;
}

/**
 * A name matched literally inside a regular expression (RE2): `.` in `hits.v2` is not "any
 * character".
 */
export function regexLiteral(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, (c) => `\\${c}`);
}

/** The recorded series of APPS in NAMESPACE, in one selector (the metric name is a label too). */
export function batchQuery(namespace: string, apps: string[]): string {
  const names = promString([P95, RATE, IN_FLIGHT, IN_FLIGHT_NOW].map(regexLiteral).join('|'));
  const targets = promString([...new Set(apps)].sort().map(regexLiteral).join('|'));
  return `{__name__=~${names},namespace=${promString(namespace)},app=~${targets}}`;
}

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

/** What the answer says about each app: a value, no traffic, or no series (pure: tested). */
export function metricsFrom(result: Series[], apps: string[]): Map<string, Metric> {
  const found = (name: string, app: string) =>
    result.find((s) => s.metric.__name__ === name && s.metric.app === app);
  const metrics = new Map<string, Metric>();
  for (const app of apps) {
    const rate = found(RATE, app);
    const rps = Number(rate?.value[1]);
    const seconds = Number(found(P95, app)?.value[1]);
    const inFlight = Number(found(IN_FLIGHT, app)?.value[1]);
    const now = Number(found(IN_FLIGHT_NOW, app)?.value[1]); // NaN when missing: not steady
    if (!rate || !Number.isFinite(rps))
      metrics.set(app, {
        kind: 'no-series',
        detail:
          `Prometheus records no request rate for app="${app}" ` +
          '(never scraped, or its labels do not match)',
      });
    else if (rps === 0) metrics.set(app, { kind: 'no-traffic' });
    // Whole milliseconds, as status and Events show it: a p95 of 100.4 ms, shown as 100, once
    // scaled up "over 100 ms" in a CI run; now the number compared is the number shown.
    else if (Number.isFinite(seconds) && Number.isFinite(inFlight))
      metrics.set(app, {
        kind: 'value',
        ms: Math.round(seconds * 1000),
        rps,
        inFlight,
        ...(Number.isFinite(now) ? { inFlightNow: now } : {}),
      });
    else
      metrics.set(app, {
        kind: 'no-series',
        detail: `Prometheus records a request rate but no p95 or in-flight figure for app="${app}"`,
      });
  }
  return metrics;
}

/**
 * Asks Prometheus at BASE about APPS of NAMESPACE, in one query. Never throws: when Prometheus
 * does not answer (within TIMEOUT_MS) or answers nonsense, every app is "unavailable".
 */
export async function queryMetrics(
  base: string,
  namespace: string,
  apps: string[],
  timeoutMs = 3000,
): Promise<Map<string, Metric>> {
  if (apps.length === 0) return new Map();
  const query = encodeURIComponent(batchQuery(namespace, apps));
  const url = `${base.replace(/\/+$/, '')}/api/v1/query?query=${query}`;
  const unavailable = (error: string) =>
    new Map<string, Metric>(apps.map((app) => [app, { kind: 'unavailable', error }]));
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return unavailable(`HTTP ${response.status} from ${base}`);
    const body = (await response.json()) as {
      status?: string;
      error?: string;
      data?: { resultType?: string; result?: Series[] };
    };
    if (body.status !== 'success' || body.data?.resultType !== 'vector')
      return unavailable(`query failed: ${body.error ?? 'not an instant vector'}`);
    return metricsFrom(body.data.result ?? [], apps);
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return unavailable(
      `${base}: ${e.cause?.code ?? e.name}${e.cause?.code ? '' : `: ${e.message}`}`,
    );
  }
}

/**
 * The last answer for every target: refreshed by the resync tick, ONE query for all of them; a
 * reconcile reuses it while it is at most MAX_AGE_MS old (a tick and a half), and asks again only
 * for a target it has no answer for yet (a LatencyScaler added between two ticks).
 */
export class MetricsSnapshot {
  private at = -Infinity;
  private metrics = new Map<string, Metric>();

  constructor(
    private readonly query: (targets: string[]) => Promise<Map<string, Metric>>,
    private readonly targets: () => string[],
    private readonly maxAgeMs: number,
    private readonly clock: () => number = Date.now,
  ) {}

  /** One query for all the targets there are now. */
  async refresh(): Promise<void> {
    const at = this.clock();
    this.metrics = await this.query(this.targets());
    this.at = at;
  }

  async metricFor(target: string): Promise<Metric> {
    if (this.clock() - this.at > this.maxAgeMs || !this.metrics.has(target)) await this.refresh();
    return (
      this.metrics.get(target) ?? { kind: 'unavailable', error: 'no answer for this target yet' }
    );
  }
}
