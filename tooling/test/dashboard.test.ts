/**
 * The Grafana dashboard of k8s/dashboard (hits.json) asks Prometheus only what rules.yml records,
 * and every panel has data: its queries, as Grafana would send them, run against a real
 * Prometheus (k8s/prometheus/docker.yml + rules.yml) scraping the real step 03 app under k6 load.
 * Grafana itself does not run here (no image registry): this proves the queries, not the rendering.
 */
import { readFileSync } from 'node:fs';
import {
  KIT_ROOT,
  PROMETHEUS_PORT,
  buildStep,
  eventually,
  hit,
  promQuery,
  runK6,
  startApp,
  startNetwork,
  startPrometheus,
  startRedis,
  teardown,
  urlOf,
  type StartedNetwork,
  type StartedTestContainer,
} from '@kit/testkit';
import { queryRange } from '../lib/prometheus.js';

interface Target {
  refId: string;
  expr: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface Defaults {
  unit?: string;
  min?: number;
  max?: number;
  thresholds?: { steps: Array<{ color: string; value: number | null }> };
  custom?: { thresholdsStyle?: { mode: string } };
}
interface Panel {
  title: string;
  type: string;
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
  fieldConfig?: { defaults: Defaults };
}
interface Variable {
  name: string;
  type: string;
  query: string;
  current: { value: string };
  datasource?: { uid?: string };
}
interface Dashboard {
  uid: string;
  refresh: string;
  time: { from: string; to: string };
  templating: { list: Variable[] };
  panels: Panel[];
}

const read = (path: string) => readFileSync(`${KIT_ROOT}/${path}`, 'utf8');
const dashboard = JSON.parse(read('k8s/dashboard/hits.json')) as Dashboard;
const targets = dashboard.panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ panel, target })),
);
const recorded = [...read('k8s/prometheus/rules.yml').matchAll(/^\s*- record: (\S+)$/gm)].map(
  (m) => m[1]!,
);
const datasourceUid = /^\s+uid: (\S+)$/m.exec(
  read('k8s/dashboard/provisioning/datasources.yaml'),
)?.[1];
const SCRAPE_INTERVAL = '5s'; // docker.yml and prometheus.yml; the datasource's timeInterval

/**
 * What Grafana sends for a target: the template variable replaced by its value, and its interval
 * variables by what they are at the dashboard's 15 min with a 5 s scrape interval. Anything else
 * left with a `$` is a variable this test does not know, and fails the test.
 */
function asSent(expr: string, namespace: string): string {
  const sent = expr
    .replaceAll('$__rate_interval', '20s') // max(4 x scrape interval, step + scrape interval)
    .replaceAll('$__interval', SCRAPE_INTERVAL)
    .replace(/\$\{namespace\}|\$namespace\b|\[\[namespace\]\]/g, namespace);
  if (sent.includes('$')) throw new Error(`unknown variable in ${expr}`);
  return sent;
}

/** The metric names a PromQL expression selects: not functions, label names, keywords or durations. */
function metricNames(expr: string): string[] {
  const keywords = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan']);
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  return [...bare.matchAll(/(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?/g)]
    .filter((m) => !m[2] && !keywords.has(m[1]!.toLowerCase()))
    .map((m) => m[1]!);
}

/** The panel whose queries select `name`; a name starting with `:` is a recorded series' suffix. */
function panelReading(name: string): Panel {
  const metric = name.startsWith(':') ? recorded.find((r) => r.endsWith(name)) : name;
  const panel = dashboard.panels.find((p) =>
    (p.targets ?? []).some((t) => metric && metricNames(t.expr).includes(metric)),
  );
  if (!panel) throw new Error(`no panel selects ${metric ?? `a recorded series …${name}`}`);
  return panel;
}

describe('hits.json, as written', () => {
  test('a `namespace` variable (default hits), refresh 5 s, last 15 min, every query on the provisioned datasource', () => {
    expect(dashboard.refresh).toBe('5s');
    expect(dashboard.time).toEqual({ from: 'now-15m', to: 'now' });
    expect(dashboard.templating.list.map((v) => [v.name, v.current.value])).toEqual([
      ['namespace', 'hits'],
    ]);
    expect(datasourceUid).toBeDefined();
    expect(dashboard.templating.list[0]?.datasource?.uid).toBe(datasourceUid);
    expect(targets.length).toBeGreaterThanOrEqual(5);
    for (const { panel, target } of targets) {
      expect({ panel: panel.title, uid: target.datasource?.uid ?? panel.datasource?.uid }).toEqual({
        panel: panel.title,
        uid: datasourceUid,
      });
      expect({ panel: panel.title, expr: target.expr }).toEqual({
        panel: panel.title,
        expr: expect.stringContaining('namespace="$namespace"'),
      });
    }
  });

  test('the latency panel is in seconds with its threshold line at 0.1 s; the share panel draws 95 %', () => {
    const latency = panelReading(':p95_30s');
    expect(latency).toBe(panelReading(':p50_30s'));
    expect(latency.fieldConfig?.defaults.unit).toBe('s');
    expect(latency.fieldConfig?.defaults.thresholds?.steps.map((s) => s.value)).toEqual([
      null,
      0.1,
    ]);
    expect(latency.fieldConfig?.defaults.custom?.thresholdsStyle?.mode).not.toBe('off');
    // p95 <= 100 ms exactly when at least 95 % of requests took <= 100 ms (0.1 is a bucket edge).
    const share = panelReading(':share_under_100ms_30s');
    expect(share.fieldConfig?.defaults).toMatchObject({ unit: 'percentunit', min: 0, max: 1 });
    expect(share.fieldConfig?.defaults.thresholds?.steps.map((s) => s.value)).toEqual([null, 0.95]);
    expect(share.fieldConfig?.defaults.custom?.thresholdsStyle?.mode).not.toBe('off');
  });

  test('every recorded series of rules.yml has a panel, and no query re-derives one from the raw histogram', () => {
    // The extractor itself, on a query this dashboard must never contain:
    expect(
      metricNames(
        'histogram_quantile(0.95, sum by (le) (rate(x_bucket{le="0.1"}[5m] offset 5m))) and on (app) y > 0',
      ),
    ).toEqual(['x_bucket', 'y']);
    const used = new Set(targets.flatMap(({ target }) => metricNames(target.expr)));
    expect(recorded.length).toBeGreaterThanOrEqual(4);
    expect(recorded.filter((name) => !used.has(name))).toEqual([]);
    for (const { target } of targets) {
      expect(target.expr).not.toMatch(
        /histogram_quantile|request_latency_seconds_(bucket|count|sum)|\brate\(|\birate\(|\bincrease\(/,
      );
    }
  });
});

describe('every panel has data from a real Prometheus scraping the step 03 app under load', () => {
  let network: StartedNetwork;
  let redis: StartedTestContainer;
  let app: StartedTestContainer;
  let prometheus: StartedTestContainer;
  const base = () => `http://127.0.0.1:${prometheus.getMappedPort(PROMETHEUS_PORT)}`;

  /** A range query like a Grafana panel's: the last 15 min, one point per scrape interval. */
  async function panelQuery(
    expr: string,
  ): Promise<Array<{ metric: Record<string, string>; values: number[] }>> {
    const end = Math.floor(Date.now() / 1000);
    const series = await queryRange(base(), expr, end - 15 * 60, end, SCRAPE_INTERVAL);
    return series.map(({ metric, values }) => ({ metric, values: values.map(([, v]) => v) }));
  }

  beforeAll(async () => {
    const image = await buildStep('03-metrics');
    network = await startNetwork();
    redis = await startRedis(network);
    app = await startApp(image, network);
    // A little traffic before Prometheus starts: its first scrape already sees the /slow series,
    // so the rates (and the recordings) start with the load, not a scrape later.
    await hit(urlOf(app, '/slow'), 3);
    prometheus = await startPrometheus(network);
    await eventually('Prometheus to scrape the app', async () =>
      (await promQuery(prometheus, 'up{job="hits"} == 1')).length === 1 ? true : undefined,
    );
    // A few VUs on /slow for 20 s: every recorded series (30 s windows) has samples after it.
    const k6 = await runK6('steady.js', { VUS: '4', DURATION: '20s', TARGET: urlOf(app) });
    expect(k6.requests).toBeGreaterThan(0);
  }, 120_000);
  afterAll(() => teardown(prometheus, app, redis, network));

  test('every name a query selects is recorded by rules.yml, exported by the app, or `up`', async () => {
    const exposition = await (await fetch(urlOf(app, '/metrics'))).text();
    const exported = [...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) =>
      type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name!],
    );
    expect(exported).toContain('request_latency_seconds_count');
    const known = new Set([...recorded, ...exported, 'up']);
    const unknown = targets.flatMap(({ target }) =>
      metricNames(target.expr).filter((name) => !known.has(name)),
    );
    expect(unknown).toEqual([]);
  });

  test('each panel query, with namespace=docker, returns at least one series, all values finite', async () => {
    const problems: string[] = [];
    for (const { panel, target } of targets) {
      const series = await panelQuery(asSent(target.expr, 'docker'));
      const values = series.flatMap((s) => s.values);
      console.log(
        `${panel.title} [${target.refId}]: ${series.length} series, ${values.length} points, last ${values.at(-1)}`,
      );
      if (values.length === 0) problems.push(`${panel.title} [${target.refId}]: no data`);
      if (values.some((v) => !Number.isFinite(v)))
        problems.push(
          `${panel.title} [${target.refId}]: ${values.filter((v) => !Number.isFinite(v)).join(',')}`,
        );
    }
    expect(problems).toEqual([]);
    // What the panels say is what the setup is: one replica scraped, a share within 0..1.
    const [replicas] = await panelQuery(asSent(panelReading('up').targets![0]!.expr, 'docker'));
    expect(replicas?.values.at(-1)).toBe(1);
    const [share] = await panelQuery(
      asSent(panelReading(':share_under_100ms_30s').targets![0]!.expr, 'docker'),
    );
    expect(share?.values.every((v) => v >= 0 && v <= 1)).toBe(true);
  });

  test('the namespace variable offers docker, and another namespace empties every panel (the filter is applied)', async () => {
    const variable = dashboard.templating.list[0]!;
    const [, metric, label] = /^label_values\((.+),\s*(\w+)\)$/.exec(variable.query) ?? [];
    expect(label).toBe('namespace');
    const url = `${base()}/api/v1/label/${label}/values?${new URLSearchParams({ 'match[]': metric! })}`;
    const { data } = (await (await fetch(url)).json()) as { data: string[] };
    expect(data).toEqual(['docker']);
    for (const { target } of targets)
      expect(await panelQuery(asSent(target.expr, 'not-a-namespace'))).toEqual([]);
  });
});
