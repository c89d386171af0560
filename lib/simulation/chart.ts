/**
 * Charts of a comparison with Vega-Lite (rendered server-side by Vega to SVG) and resvg (SVG to
 * PNG): per policy, four panels over time — arrivals, backlog, workers, wait. Vega is ESM-only,
 * so it is loaded with a dynamic import(), which also keeps it out of the model.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Comparison } from './compare';
import type { RunResult } from './engine';

/** The four series of each chart, in panel order. */
export const SERIES = [
  { field: 'arrivals', title: 'Arrivals (messages/min)', color: '#4c78a8' },
  { field: 'backlog', title: 'Backlog (visible messages)', color: '#f58518' },
  { field: 'workers', title: 'Workers (paid)', color: '#54a24b' },
  { field: 'waitP95', title: 'Wait p95 (s, by minute sent)', color: '#e45756' },
] as const;

/** The Vega-Lite spec of one policy's chart. */
export function chartSpec(run: RunResult, title: string, latencyGoalSeconds: number): Record<string, unknown> {
  const values = run.timeline.map((r) => ({
    minute: r.minute,
    arrivals: r.arrivals,
    backlog: r.backlog,
    workers: r.workers,
    waitP95: Number.isFinite(r.waitP95) ? Math.round(r.waitP95 * 10) / 10 : null,
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start' },
    data: { values },
    vconcat: SERIES.map((s) => ({
      width: 720,
      height: 110,
      title: { text: s.title, anchor: 'start', fontSize: 12 },
      layer: [
        {
          // Minutes without a value (no message sent then, so no wait) are left out rather than
          // drawn as gaps: a batch load sends in one minute of fifteen, and a line broken at every
          // missing minute drew nothing at all.
          transform: [{ filter: `isValid(datum.${s.field})` }],
          mark: { type: 'line', color: s.color, interpolate: 'step-after', point: s.field === 'waitP95' },
          encoding: {
            x: { field: 'minute', type: 'quantitative', title: 'minute' },
            y: { field: s.field, type: 'quantitative', title: null },
          },
        },
        ...(s.field === 'waitP95' ? [{
          mark: { type: 'rule', color: '#888', strokeDash: [4, 4] },
          encoding: { y: { datum: latencyGoalSeconds } },
        }] : []),
      ],
    })),
    config: { font: 'DejaVu Sans', view: { stroke: null } },
  };
}

/** Renders a Vega-Lite spec to SVG text. */
export async function renderSvg(spec: Record<string, unknown>): Promise<string> {
  const vl = await import('vega-lite');
  const vega = await import('vega');
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  return svg;
}

/** SVG text to PNG bytes. */
export async function svgToPng(svg: string): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 1.5 }, font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' } }).render().asPng();
  return Buffer.from(png);
}

/** Writes `<prefix>-<policy>.svg/.png` for each run; returns the files written. */
export async function writeCharts(c: Comparison, outDir: string, prefix: string, latencyGoalSeconds: number): Promise<string[]> {
  fs.mkdirSync(outDir, { recursive: true });
  const written: string[] = [];
  for (const [i, run] of c.runs.entries()) {
    const s = c.summaries[i];
    const title = `${c.trace.name} — ${run.policy}: p95 wait ${s.waitP95.toFixed(0)} s, ${s.workerMinutes.toFixed(0)} worker-minutes`;
    const svg = await renderSvg(chartSpec(run, title, latencyGoalSeconds));
    const base = path.join(outDir, `${prefix}-${run.policy}`);
    fs.writeFileSync(`${base}.svg`, svg);
    fs.writeFileSync(`${base}.png`, await svgToPng(svg));
    written.push(`${base}.svg`, `${base}.png`);
  }
  return written;
}
