import { execFileSync } from 'child_process';
import { chartSpec } from '../../lib/simulation/chart';
import type { RunResult } from '../../lib/simulation/engine';

/** A batch load's timeline: messages are sent in one minute of five, so four minutes in five have no wait. */
function batchRun(): RunResult {
  const timeline = Array.from({ length: 30 }, (_, minute) => ({
    minute, arrivals: minute % 5 === 0 ? 400 : 0, backlog: minute % 5 === 0 ? 300 : 0, workers: 10, waitP95: minute % 5 === 0 ? 40 + minute : NaN, cpuUtilization: NaN,
  }));
  return {
    policy: 'ours', durationSeconds: 1800, sent: 2400, processed: 2400, visibleAtEnd: 0, inFlightAtEnd: 0, delayedAtEnd: 0,
    waits: new Float64Array(0), released: 0, busyWorkersRemoved: 0, peakWorkers: 10, workerMinutes: 300, events: [], timeline,
  };
}

describe('charts', () => {
  test('the wait panel draws the minutes that have a wait even when most minutes have none (batch load)', () => {
    const spec = chartSpec(batchRun(), 'batch', 60) as { vconcat: { layer: Record<string, unknown>[] }[] };
    const waitLayer = spec.vconcat[3].layer[0] as { transform?: { filter: string }[] };
    expect(waitLayer.transform).toEqual([{ filter: 'isValid(datum.waitP95)' }]);
    // Vega is ESM-only, which jest cannot import: render in a plain Node process, as renderSvg does.
    const script = `import * as vl from 'vega-lite'; import * as vega from 'vega';
      const spec = JSON.parse(process.argv[1]);
      const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
      process.stdout.write(await view.toSVG());`;
    const svg = execFileSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(spec)], { encoding: 'utf8' });
    // The wait line of the fourth panel: a path through the six minutes with a value, not an empty one.
    const paths = [...svg.matchAll(/<path[^>]*>/g)].map((m) => m[0]).filter((p) => p.includes('stroke="#e45756"')).map((p) => /d="([^"]*)"/.exec(p)?.[1] ?? '');
    expect(paths.length).toBeGreaterThan(0);
    expect(paths.some((d) => (d.match(/L/g) ?? []).length >= 5)).toBe(true);
  }, 30_000);
});
