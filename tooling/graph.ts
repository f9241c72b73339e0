/**
 * Renders the latency story from Prometheus into an SVG and a PNG, for READMEs and slides:
 * p50/p95 latency against the 100 ms threshold, requests per second, and replicas scraped.
 *
 *   ./kit graph [--prometheus http://127.0.0.1:9090] [--minutes 10] [--app hits] [--out slides/img/latency]
 *
 * It reads the recorded series of k8s/prometheus/rules.yml, the same ones the operator reads.
 */
import { writeFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { CHART_FONT, renderChart, type TopLevelSpec } from './lib/chart.ts';
import { thresholdMs } from './lib/manifests.ts';
import { queryRange } from './lib/prometheus.ts';

const { values: args } = parseArgs({
  options: {
    prometheus: { type: 'string', default: 'http://127.0.0.1:9090' },
    minutes: { type: 'string', default: '10' },
    app: { type: 'string', default: 'hits' },
    out: { type: 'string', default: 'latency' },
    title: { type: 'string', default: 'Latency under load' },
  },
});

const THRESHOLD_MS = thresholdMs();
const minutes = Number(args.minutes);
if (!(minutes > 0))
  throw new Error(`--minutes=${args.minutes} is not valid: expected a positive number`);
const end = Date.now() / 1000;
const start = end - minutes * 60;
const step = Math.max(5, Math.round((end - start) / 300));

interface Point {
  time: number; // ms since epoch, as vega-lite likes it
  value: number;
  series: string;
}

/** A range query; each sample becomes a point of the named series. */
async function range(expr: string, series: string, scale = 1): Promise<Point[]> {
  const result = await queryRange(args.prometheus, expr, start, end, step).catch((err: Error) => {
    throw new Error(`${err.message}; pass --prometheus URL`);
  });
  return result.flatMap(({ values }) =>
    values.map(([time, value]) => ({ time: time * 1000, value: value * scale, series })),
  );
}

const sel = `{app="${args.app}"}`;
const [p50, p95, rps, replicas] = await Promise.all([
  range(`app:request_latency_seconds:p50_30s${sel}`, 'p50', 1000),
  range(`app:request_latency_seconds:p95_30s${sel}`, 'p95', 1000),
  range(`app:requests:rate_30s${sel}`, 'requests/s'),
  range(`count(up${sel} == 1)`, 'replicas'),
]);
if (p95.length === 0) {
  console.error(
    `no latency data for app="${args.app}" in the last ${minutes} min: was there traffic, and is Prometheus scraping?`,
  );
  process.exit(1);
}

// One time axis for all panels, over the whole requested range.
const time = {
  field: 'time',
  type: 'temporal' as const,
  title: null,
  axis: { format: '%H:%M:%S' },
  scale: { domain: [start * 1000, end * 1000] },
};
const spec: TopLevelSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: { text: args.title, subtitle: `Prometheus, last ${minutes} min, app="${args.app}"` },
  background: 'white',
  config: { font: CHART_FONT, view: { stroke: null } },
  vconcat: [
    {
      width: 720,
      height: 220,
      layer: [
        {
          data: { values: [...p50, ...p95] },
          mark: { type: 'line' },
          encoding: {
            x: time,
            y: { field: 'value', type: 'quantitative', title: 'latency (ms)' },
            color: {
              field: 'series',
              type: 'nominal',
              title: null,
              scale: { range: ['#4c78a8', '#e45756'] },
            },
          },
        },
        {
          data: { values: [{ threshold: THRESHOLD_MS }] },
          mark: { type: 'rule', strokeDash: [6, 4], color: '#888' },
          encoding: { y: { field: 'threshold', type: 'quantitative' } },
        },
        {
          data: { values: [{ threshold: THRESHOLD_MS, label: `threshold ${THRESHOLD_MS} ms` }] },
          mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#666' },
          encoding: {
            y: { field: 'threshold', type: 'quantitative' },
            x: { value: 0 },
            text: { field: 'label' },
          },
        },
      ],
    },
    {
      width: 720,
      height: 110,
      data: { values: rps },
      mark: { type: 'area', opacity: 0.6, color: '#54a24b' },
      encoding: { x: time, y: { field: 'value', type: 'quantitative', title: 'requests/s' } },
    },
    {
      width: 720,
      height: 70,
      data: { values: replicas },
      mark: { type: 'line', interpolate: 'step-after', color: '#b279a2' },
      encoding: {
        x: time,
        y: { field: 'value', type: 'quantitative', title: 'replicas', axis: { tickMinStep: 1 } },
      },
    },
  ],
};

const { svg, png } = await renderChart(spec);
await mkdir(dirname(args.out), { recursive: true });
await writeFile(`${args.out}.svg`, svg);
await writeFile(`${args.out}.png`, png);
console.log(`wrote ${args.out}.svg and ${args.out}.png (${p95.length} points, step ${step} s)`);
