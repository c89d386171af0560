import {
  cellInputs, formatScorecard, judge, MAX_COST_RATIO, MAX_GEOMEAN_COST_RATIO, runCell, runSuite, scorecardToCsv, suiteConfig, verdict, ALL_SOURCE_NAMES, FULL_SUITE,
  SUITE_SHAPE_NAMES, type SuiteCell, type SuiteCellKey, type SuiteRun, type SuiteSourceName,
} from '../../lib/simulation/suite';
import type { RunSummary } from '../../lib/simulation/stats';
import { compare } from '../../lib/simulation/compare';
import { fleetTarget, oursPolicy } from '../../lib/simulation/policies';
import { WORKER_DEFAULTS } from '../../lib/worker/contract';

/**
 * A reduced suite, seeded and deterministic: every load shape on the 20-worker fleet at
 * concurrency 1, Fargate, on both metric sources. The full suite is `npm run simulate -- --suite`.
 */
describe('the scenario suite', () => {
  const publisher = runSuite({ shapes: SUITE_SHAPE_NAMES, scales: ['small'], sources: ['publisher'], computes: ['fargate'], seed: 1 });
  const metricMath = runSuite({ shapes: SUITE_SHAPE_NAMES, scales: ['small'], sources: ['metric-math'], computes: ['fargate'], seed: 1 });

  test('publisher metrics: every cell passes (never dominated, fast, cheap) and the geometric mean of cost is within 1.6x', () => {
    expect(publisher.filter((c) => c.failures.length > 0).map((c) => `${c.shape}: ${c.failures.join('; ')}`)).toEqual([]);
    expect(verdict(publisher)).toMatchObject({ pass: true, cells: SUITE_SHAPE_NAMES.length });
  });

  test('metric math: never dominated by QueueProcessingFargateService\'s defaults or plain steps, and at most 3x perfect foresight\'s worker-minutes', () => {
    for (const cell of metricMath) {
      expect(cell.failures.filter((f) => f.includes('qpfs-defaults') || f.includes('plain-steps') || f.startsWith('cost'))).toEqual([]);
      expect(cell.costRatio).toBeLessThanOrEqual(MAX_COST_RATIO);
    }
    expect(verdict(metricMath).geomeanCostRatio).toBeLessThanOrEqual(MAX_GEOMEAN_COST_RATIO);
  });

  test('metric math: every cell passes but two whose load changes within two minutes (docs/simulation.md)', () => {
    // A 2-minute spike is first readable 2 minutes after it starts; KEDA polls the queue itself.
    expect(metricMath.filter((c) => c.failures.length > 0).map((c) => c.shape)).toEqual(['spiky', 'burst-aftershock']);
  });

  test('the reactive bound: no policy reading the same datapoints passes the spiky cell; the burst with aftershock is within reach', () => {
    const reach = Object.fromEntries(metricMath.filter((c) => c.failures.length > 0).map((c) => [c.shape, c.reactiveBound]));
    expect(reach).toEqual({ 'spiky': null, 'burst-aftershock': { windowSeconds: 60, holdSeconds: 0 } });
    expect(metricMath.filter((c) => c.failures.length === 0).every((c) => c.reactiveBound === undefined)).toBe(true);
    expect(verdict(metricMath).beyondReactiveBound).toBe(1);
    expect(formatScorecard(metricMath)).toMatch(/^verdict: FAIL: 8\/10 cells pass; .*; 1 of the 2 failing cells are beyond the reactive bound$/m);
    const csv = scorecardToCsv(metricMath).trim().split('\n');
    expect(csv[0]).toMatch(/,failures,reactiveBound$/);
    expect(csv.find((l) => l.startsWith('spiky,'))).toMatch(/,none$/);
    expect(csv.find((l) => l.startsWith('burst-aftershock,'))).toMatch(/,"work \/ 60 s, held 0 s"$/);
  });

  test('EC2 with metric math, under EC2 Auto Scaling\'s rules (no step cooldowns): the exact scale-in passes every 20-worker cell', () => {
    const ec2 = runSuite({ shapes: SUITE_SHAPE_NAMES, scales: ['small'], sources: ['metric-math'], computes: ['ec2'], seed: 1 });
    // Steps that removed a third of the spare count (so that three actions on one stale count
    // removed no more than was spare) failed the spikes (p95 123 s > 121 s) and the batch dumps
    // (3.26x foresight's worker-minutes): the fleet came down from each dump a third at a time.
    expect(ec2.filter((c) => c.failures.length > 0).map((c) => [c.shape, c.failures])).toEqual([]);
    expect(formatScorecard(ec2)).toMatch(/^verdict: PASS: 10\/10 cells pass; /m);
    const batch = ec2.find((c) => c.shape === 'batch')!;
    expect(batch.costRatio).toBeLessThan(3);
  });

  test('with both metric sources, the scorecard adds each source\'s cells passing and geometric mean; with one, nothing', () => {
    const both = formatScorecard([...metricMath, ...publisher]);
    const mean = (cells: SuiteCell[]) => verdict(cells).geomeanCostRatio.toFixed(2);
    expect(both.split('\n').at(-1)).toBe(`by metric source: metric-math 8/10 pass, ${mean(metricMath)}x; publisher 10/10 pass, ${mean(publisher)}x`);
    expect(formatScorecard(publisher)).not.toMatch(/by metric source/);
  });

  test('the scorecard has a row per cell and a verdict line; the CSV a header and a row per cell', () => {
    const text = formatScorecard(publisher);
    expect(text.split('\n').filter((l) => l.startsWith('viral-burst')).length).toBe(1);
    expect(text).toMatch(/^verdict: PASS: 10\/10 cells pass; geometric mean of worker-minutes \/ perfect foresight \d\.\d\dx/m);
    const csv = scorecardToCsv(publisher).trim().split('\n');
    expect(csv).toHaveLength(1 + publisher.length);
    expect(csv[0]).toMatch(/^shape,scale,source,compute,ours\.waitP95,ours\.workerMinutes,qpfs-defaults\.waitP95,.*keda\.workerMinutes,perfect-foresight\.waitP95/);
  });
});

describe('the metric sources', () => {
  test('the full suite reads metric math and the publisher at 10 s; the publisher\'s other periods run only when named', () => {
    expect(FULL_SUITE.sources).toEqual(['metric-math', 'publisher']);
    const at = (source: SuiteSourceName) => {
      const { fleet, params: { cloudWatch } } = suiteConfig({ shape: 'steady', scale: 'small', source, compute: 'fargate' }, { seed: 1 });
      return [fleet.metricPeriodSeconds, cloudWatch.countSampleSeconds, cloudWatch.publicationDelaySeconds, fleet.inputsArriveTogether];
    };
    expect(at('metric-math')).toEqual([60, 60, 60, false]);
    expect(at('publisher')).toEqual([10, 10, 10, true]);
    expect(at('publisher-30s')).toEqual([30, 30, 10, true]);
    expect(at('publisher-60s')).toEqual([60, 60, 10, true]);
  });
});

describe('the publication delay (`--publication-delay`)', () => {
  const key = { shape: 'burst-aftershock', scale: 'small', source: 'metric-math', compute: 'fargate' } as const;

  test('sets every source\'s delay, and nothing else of the cell', () => {
    for (const source of ALL_SOURCE_NAMES) {
      const own = suiteConfig({ ...key, source }, { seed: 1 });
      const late = suiteConfig({ ...key, source }, { seed: 1, publicationDelaySeconds: 120 });
      expect(late.params.cloudWatch.publicationDelaySeconds).toBe(120);
      expect({ ...late.params.cloudWatch, publicationDelaySeconds: 0 }).toEqual({ ...own.params.cloudWatch, publicationDelaySeconds: 0 });
      expect(late.fleet).toEqual(own.fleet);
    }
  });

  test('datapoints a minute later: ours reads the aftershock later; KEDA, which reads the queue itself, does not change', () => {
    const own = runCell(key, { seed: 1 });
    const late = runCell(key, { seed: 1, publicationDelaySeconds: 120 });
    expect(late.summaries.ours.waitP95).toBeGreaterThan(own.summaries.ours.waitP95 + 20);
    expect(late.summaries.keda).toEqual(own.summaries.keda);
    expect(late.publicationDelaySeconds).toBe(120);
    expect(own.publicationDelaySeconds).toBeUndefined();
    expect(formatScorecard([late])).toMatch(/^verdict: .*; datapoints readable 120 s after their period$/m);
    expect(formatScorecard([own])).not.toMatch(/readable/);
  });
});

/** A cell run as the suite runs it and with a run option: only the second's verdict line names the option. */
function runWithAndWithout(key: SuiteCellKey, option: Partial<SuiteRun>, named: RegExp) {
  const own = runCell(key, { seed: 1 });
  const changed = runCell(key, { seed: 1, ...option });
  expect(formatScorecard([changed])).toMatch(new RegExp(`^verdict: .*${named.source}`, 'm'));
  expect(formatScorecard([own])).not.toMatch(named);
  return { own, changed };
}

describe('the Fargate start-up (`--fargate-start`)', () => {
  const slow = { min: 60, max: 150 };

  test('sets a Fargate cell\'s task start-up for every policy and ours\' declared one; an EC2 cell keeps its own', () => {
    const key = { shape: 'spiky', scale: 'small', source: 'metric-math', compute: 'fargate' } as const;
    const own = suiteConfig(key, { seed: 1 });
    const started = suiteConfig(key, { seed: 1, fargateStartSeconds: slow });
    expect(own.params.worker.startupSeconds).toEqual({ min: 25, max: 60 });
    expect(started.params.worker.startupSeconds).toEqual(slow);
    expect(started.fleet).toEqual({ ...own.fleet, workerStartSeconds: 150 });
    expect({ ...started.params, worker: own.params.worker }).toEqual(own.params);
    const ec2 = { ...key, compute: 'ec2' } as const;
    expect(suiteConfig(ec2, { seed: 1, fargateStartSeconds: slow })).toEqual(suiteConfig(ec2, { seed: 1 }));
  });

  test('slower tasks: every policy waits longer for the spikes\' workers, foresight (no start-up) alone does not; the verdict says so', () => {
    const { own, changed: started } = runWithAndWithout({ shape: 'spiky', scale: 'small', source: 'publisher', compute: 'fargate' }, { fargateStartSeconds: slow }, /; Fargate tasks start in 60-150 s$/m);
    for (const policy of ['ours', 'qpfs-defaults', 'keda']) expect(started.summaries[policy].waitP95).toBeGreaterThan(own.summaries[policy].waitP95);
    expect(started.summaries['perfect-foresight']).toEqual(own.summaries['perfect-foresight']);
    expect(started.fargateStartSeconds).toEqual(slow);
  });
});

describe('EC2 without the warm pool (`--no-warm-pool`)', () => {
  test('takes the pool from an EC2 cell\'s fleet, which then declares a new instance\'s start-up; a Fargate cell is unchanged', () => {
    const key = { shape: 'spiky', scale: 'small', source: 'metric-math', compute: 'ec2' } as const;
    const own = suiteConfig(key, { seed: 1 });
    const cold = suiteConfig(key, { seed: 1, ec2WarmPool: false });
    expect(cold.fleet).toEqual({ ...own.fleet, warmPool: false });
    expect(cold.params).toEqual(own.params);
    expect(oursPolicy(own.fleet, own.params, 1).warmPool).toBeDefined();
    expect(oursPolicy(cold.fleet, cold.params, 1).warmPool).toBeUndefined();
    const fargate = { ...key, compute: 'fargate' } as const;
    expect(suiteConfig(fargate, { seed: 1, ec2WarmPool: false })).toEqual(suiteConfig(fargate, { seed: 1 }));
  });

  test('without it, ours waits for new instances at the spikes\' onsets; the baselines, which have none, do not change; the verdict says so', () => {
    const { own, changed: cold } = runWithAndWithout({ shape: 'spiky', scale: 'small', source: 'publisher', compute: 'ec2' }, { ec2WarmPool: false }, /; EC2 fleets without the warm pool$/m);
    expect(cold.summaries.ours.waitP95).toBeGreaterThan(own.summaries.ours.waitP95);
    for (const policy of ['qpfs-defaults', 'plain-steps', 'keda', 'perfect-foresight']) expect(cold.summaries[policy]).toEqual(own.summaries[policy]);
    expect(cold.ec2WarmPool).toBe(false);
    expect(own.ec2WarmPool).toBeUndefined();
  });
});

describe('a misjudged task time (`--task-time-estimate`)', () => {
  test('sets the time our fleet (and KEDA, for its queue length) derives its target from, and nothing else of the cell', () => {
    const key = { shape: 'ramp-cliff', scale: 'medium', source: 'metric-math', compute: 'ec2' } as const;
    const own = suiteConfig(key, { seed: 1 });
    const half = suiteConfig(key, { seed: 1, taskTimeEstimate: 0.5 });
    expect(own.fleet.processingTimeSeconds).toBeUndefined();
    expect(half.fleet).toEqual({ ...own.fleet, processingTimeSeconds: 3 });
    expect(half.params).toEqual(own.params);
    // 60 s goal / (6 s x 0.5) x concurrency 8: twice the 80 the real 6 s give.
    expect(fleetTarget(own.fleet, own.params)).toBe(80);
    expect(fleetTarget(half.fleet, half.params)).toBe(160);
  });

  test('tasks twice as long as declared: KEDA holds twice the backlog and waits longer; ours weighs the backlog by the measured time and does not, unless told not to', () => {
    const key = { shape: 'ramp-cliff', scale: 'small', source: 'publisher', compute: 'fargate' } as const;
    const { own, changed: half } = runWithAndWithout(key, { taskTimeEstimate: 0.5 }, /; targets from task times declared 0.5x their mean$/m);
    expect(half.summaries.keda.waitP95).toBeGreaterThan(own.summaries.keda.waitP95);
    expect(half.summaries.ours.waitP95).toBeLessThanOrEqual(own.summaries.ours.waitP95);
    for (const policy of ['qpfs-defaults', 'plain-steps', 'perfect-foresight']) expect(half.summaries[policy]).toEqual(own.summaries[policy]);
    expect(half.taskTimeEstimate).toBe(0.5);
    expect(own.taskTimeEstimate).toBeUndefined();
    // Without the weighing, the declared time alone sets the backlog held: ours waits longer, as KEDA does.
    const { config, trace, messages, start } = cellInputs(key, { seed: 1, taskTimeEstimate: 0.5 });
    const unweighed = oursPolicy({ ...config.fleet, weighByMeasuredTime: false }, config.params, start);
    const [summary] = compare(trace, config, { policies: [unweighed], messages }).summaries;
    expect(summary.waitP95).toBeGreaterThan(own.summaries.ours.waitP95);
  });
});

describe('the workers\' prefetch (`--prefetch-seconds`)', () => {
  test('sets every policy\'s workers\' window, and nothing else of the cell', () => {
    const key = { shape: 'long-tasks', scale: 'small', source: 'publisher', compute: 'fargate' } as const;
    const own = suiteConfig(key, { seed: 1 });
    const whole = suiteConfig(key, { seed: 1, prefetchSeconds: 3600 });
    expect(own.params.worker.prefetchSeconds).toBe(WORKER_DEFAULTS.prefetchSeconds);
    expect(whole.params).toEqual({ ...own.params, worker: { ...own.params.worker, prefetchSeconds: 3600 } });
    expect(whole.fleet).toEqual(own.fleet);
  });

  test('the whole prefetch on tasks of minutes: a message waits in a busy worker\'s buffer for a whole task (ours\' p99 and longest wait grow several-fold)', () => {
    const key = { shape: 'long-tasks', scale: 'small', source: 'publisher', compute: 'fargate' } as const;
    const { own, changed: whole } = runWithAndWithout(key, { prefetchSeconds: 3600 }, /; workers prefetch 3600 s ahead$/m);
    expect(whole.summaries.ours.waitP99).toBeGreaterThan(3 * own.summaries.ours.waitP99);
    expect(whole.summaries.ours.waitMax).toBeGreaterThan(3 * own.summaries.ours.waitMax);
    expect(whole.prefetchSeconds).toBe(3600);
    expect(own.prefetchSeconds).toBeUndefined();
  });
});

describe('the pass rule', () => {
  const summary = (policy: string, waitP95: number, workerMinutes: number) => ({ policy, waitP95, workerMinutes }) as RunSummary;
  const cell = (ours: [number, number], keda: [number, number]): SuiteCell => judge({
    shape: 'steady', scale: 'small', source: 'publisher', compute: 'fargate', latencyGoalSeconds: 60,
    summaries: {
      'ours': summary('ours', ...ours), 'qpfs-defaults': summary('qpfs-defaults', 300, 2000), 'plain-steps': summary('plain-steps', 400, 2000),
      'keda': summary('keda', ...keda), 'perfect-foresight': summary('perfect-foresight', 5, 100),
    },
  });

  test('dominated: a baseline with both a lower p95 wait and fewer worker-minutes', () => {
    expect(cell([50, 150], [40, 140]).failures).toEqual(['dominated by keda']);
    expect(cell([50, 150], [40, 160]).failures).toEqual([]);
  });

  test('fast: p95 <= max(latency goal, foresight + 60 s, QPFS / 3); cheap: <= 3x foresight', () => {
    expect(cell([100, 150], [200, 100]).waitBound).toBe(100); // 300 / 3
    expect(cell([101, 150], [200, 100]).failures).toEqual(['p95 101 s > 100 s']);
    expect(cell([50, 301], [200, 100]).failures).toEqual(['cost 3.01x > 3x']);
  });
});
