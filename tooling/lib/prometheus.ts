/**
 * The kit's one Prometheus client: instant and range queries over its HTTP API, for the tests,
 * ./kit graph, the demo and the bench. An empty result is Prometheus saying "no data"; a refused
 * query or no answer throws, with the query and the address in the message.
 */

/** One series of an instant query: its labels and its value. */
export interface Sample {
  metric: Record<string, string>;
  value: number;
  /** When the value was computed (epoch seconds). */
  at: number;
}

/** One series of a range query: its labels and its [epoch seconds, value] points. */
export interface Series {
  metric: Record<string, string>;
  values: Array<[number, number]>;
}

interface Answer<T> {
  status: string;
  error?: string;
  data?: { result: T[] };
}

async function ask<T>(
  base: string,
  path: string,
  params: Record<string, string>,
  timeoutMs: number,
): Promise<T[]> {
  const url = new URL(path, base);
  url.search = new URLSearchParams(params).toString();
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(
    (err: Error) => {
      throw new Error(
        `cannot reach Prometheus at ${base} (${(err as Error & { cause?: Error }).cause?.message ?? err.message})`,
      );
    },
  );
  const body = (await response
    .json()
    .catch(() => ({ status: 'error', error: `HTTP ${response.status}` }))) as Answer<T>;
  if (body.status !== 'success' || !body.data)
    throw new Error(`Prometheus at ${base} refused ${params.query}: ${body.error}`);
  return body.data.result;
}

/** An instant query at BASE (e.g. http://127.0.0.1:30090). */
export async function query(base: string, expr: string, timeoutMs = 10_000): Promise<Sample[]> {
  const result = await ask<{ metric: Record<string, string>; value: [number, string] }>(
    base,
    '/api/v1/query',
    { query: expr },
    timeoutMs,
  );
  return result.map(({ metric, value }) => ({ metric, value: Number(value[1]), at: value[0] }));
}

/** A range query from START to END (epoch seconds), a point every STEP (seconds, or a duration: 5s). */
export async function queryRange(
  base: string,
  expr: string,
  start: number,
  end: number,
  step: number | string,
  timeoutMs = 30_000,
): Promise<Series[]> {
  const params = { query: expr, start: String(start), end: String(end), step: String(step) };
  const result = await ask<{ metric: Record<string, string>; values: Array<[number, string]> }>(
    base,
    '/api/v1/query_range',
    params,
    timeoutMs,
  );
  return result.map(({ metric, values }) => ({
    metric,
    values: values.map(([t, v]) => [t, Number(v)] as [number, number]),
  }));
}

/** One scrape target Prometheus has discovered, with its labels, address and last scrape's health. */
export interface Target {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  health: string;
}

/** The active scrape targets at BASE. */
export async function activeTargets(base: string, timeoutMs = 10_000): Promise<Target[]> {
  const response = await fetch(new URL('/api/v1/targets?state=active', base), {
    signal: AbortSignal.timeout(timeoutMs),
  });
  const body = (await response.json()) as { status: string; data?: { activeTargets: Target[] } };
  if (body.status !== 'success' || !body.data)
    throw new Error(`Prometheus at ${base} gave no targets (HTTP ${response.status})`);
  return body.data.activeTargets;
}
