/**
 * The kit's one chart pipeline: a Vega-Lite spec → SVG (vega, headless) → PNG (resvg, at twice
 * the size, for slides and READMEs). ./kit graph, the demo's plot and the autoscaler bench use it.
 * The font is the one Debian installs with chromium (DejaVu Sans), so text renders the same
 * everywhere.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type { TopLevelSpec };

export const CHART_FONT = 'DejaVu Sans';

/** Renders SPEC; returns the SVG text and the PNG bytes. */
export async function renderChart(spec: TopLevelSpec): Promise<{ svg: string; png: Buffer }> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  const png = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: CHART_FONT },
  })
    .render()
    .asPng();
  return { svg, png };
}
