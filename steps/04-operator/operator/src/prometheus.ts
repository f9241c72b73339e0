/**
 * One instant query to Prometheus's HTTP API for the kit's recorded p95 series
 * (k8s/prometheus/rules.yml): the operator never computes the quantile itself.
 */
import type { LatencySample } from './decide.js';

/** The recorded series, one per namespace and app (see k8s/prometheus/rules.yml). */
export function latencyQuery(namespace: string, app: string): string {
  return `app:request_latency_seconds:p95_30s{namespace="${namespace}",app="${app}"}`;
}

/**
 * Asks Prometheus at BASE for the p95 of NAMESPACE/APP. Never throws: an error is a sample of
 * kind "unavailable", an empty result "no-data" (the rule records nothing without traffic).
 */
export async function queryLatency(base: string, namespace: string, app: string, timeoutMs = 3000): Promise<LatencySample> {
  const url = `${base.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(latencyQuery(namespace, app))}`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return { kind: 'unavailable', error: `HTTP ${response.status} from ${base}` };
    const body = (await response.json()) as { status?: string; error?: string; data?: { result?: Array<{ value?: [number, string] }> } };
    if (body.status !== 'success') return { kind: 'unavailable', error: `query failed: ${body.error ?? 'unknown error'}` };
    const result = body.data?.result ?? [];
    if (result.length === 0) return { kind: 'no-data' };
    if (result.length > 1) return { kind: 'unavailable', error: `${result.length} series match, expected one` };
    const seconds = Number(result[0]?.value?.[1]);
    if (!Number.isFinite(seconds)) return { kind: 'no-data' }; // NaN: histogram_quantile of no requests
    return { kind: 'value', ms: seconds * 1000 };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { kind: 'unavailable', error: `${base}: ${e.cause?.code ?? e.name}${e.cause?.code ? '' : `: ${e.message}`}` };
  }
}
