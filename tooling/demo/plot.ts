/**
 * The operator beat as a picture: Prometheus's p95 against the threshold, the replicas the
 * operator asked for (and how many were ready), the load phases and every scale event. Rendered
 * the way tooling/graph.ts does (vega-lite -> SVG -> PNG with resvg), so no browser is needed.
 */
import { CHART_FONT, renderChart, type TopLevelSpec } from '../lib/chart.ts';
import type { Run, Sample, Summary } from './metrics.ts';

export async function renderPlot(
  samples: readonly Sample[],
  run: Run,
  summary: Summary,
  title: string,
  subtitle: string[],
): Promise<{ svg: string; png: Buffer }> {
  const tMin = Math.min(0, ...samples.map((s) => s.t));
  const tMax = Math.max(run.loadEnd, ...samples.map((s) => s.t));
  const x = {
    field: 't',
    type: 'quantitative' as const,
    title: 'seconds since the load started',
    scale: { domain: [tMin, tMax], nice: false },
  };
  const p95 = samples.filter((s) => s.p95 !== null).map((s) => ({ t: s.t, value: s.p95 }));
  const replicas = samples.flatMap((s) => [
    { t: s.t, value: s.replicas, series: 'asked for' },
    { t: s.t, value: s.ready, series: 'ready' },
  ]);
  const events = summary.scaleEvents.map((e) => ({ t: e.t, label: `${e.from}→${e.to}` }));
  const phases = [
    { from: 0, to: run.loadEnd, label: 'heavy load' },
    { from: run.loadEnd, to: tMax, label: 'light traffic' },
  ];
  const eventRules = {
    data: { values: events },
    mark: { type: 'rule' as const, color: '#b279a2', strokeDash: [3, 3] },
    encoding: { x: { field: 't', type: 'quantitative' as const } },
  };
  const phaseBands = {
    data: { values: phases },
    mark: { type: 'rect' as const, opacity: 0.08 },
    encoding: {
      x: { field: 'from', type: 'quantitative' as const },
      x2: { field: 'to' },
      color: {
        field: 'label',
        type: 'nominal' as const,
        title: null,
        scale: { range: ['#e45756', '#54a24b'] },
      },
    },
  };
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    background: 'white',
    config: { font: CHART_FONT, view: { stroke: null } },
    resolve: { scale: { color: 'independent' } },
    vconcat: [
      {
        width: 720,
        height: 220,
        layer: [
          phaseBands,
          {
            data: { values: p95 },
            mark: { type: 'line', color: '#e45756', point: { size: 12, color: '#e45756' } },
            encoding: {
              x,
              y: {
                field: 'value',
                type: 'quantitative',
                title: 'p95 latency over 10 s (ms, Prometheus)',
              },
            },
          },
          {
            data: { values: [{ y: run.thresholdMs, label: `threshold ${run.thresholdMs} ms` }] },
            mark: { type: 'rule', strokeDash: [6, 4], color: '#888' },
            encoding: { y: { field: 'y', type: 'quantitative' } },
          },
          {
            data: { values: [{ y: run.thresholdMs, label: `threshold ${run.thresholdMs} ms` }] },
            mark: { type: 'text', align: 'right', dy: -6, color: '#666' },
            encoding: {
              y: { field: 'y', type: 'quantitative' },
              x: { value: 716 },
              text: { field: 'label' },
            },
          },
          eventRules,
        ],
      },
      {
        width: 720,
        height: 110,
        resolve: { scale: { color: 'independent' } },
        layer: [
          {
            data: { values: replicas },
            mark: { type: 'line', interpolate: 'step-after' },
            encoding: {
              x,
              y: {
                field: 'value',
                type: 'quantitative',
                title: 'replicas',
                scale: { domain: [0, run.maxReplicas + 0.5] },
                axis: { tickMinStep: 1 },
              },
              color: {
                field: 'series',
                type: 'nominal',
                title: null,
                scale: { range: ['#b279a2', '#9ecae9'] },
              },
              strokeDash: {
                field: 'series',
                type: 'nominal',
                legend: null,
                scale: {
                  range: [
                    [1, 0],
                    [4, 3],
                  ],
                },
              },
            },
          },
          eventRules,
          {
            data: { values: events },
            mark: {
              type: 'text',
              dy: -4,
              dx: 3,
              align: 'left',
              baseline: 'bottom',
              color: '#b279a2',
            },
            encoding: {
              x: { field: 't', type: 'quantitative' },
              y: { value: 0 },
              text: { field: 'label' },
            },
          },
        ],
      },
    ],
  };
  return renderChart(spec);
}
