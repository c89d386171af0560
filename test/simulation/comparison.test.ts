import { growthHorizonSeconds, WORKER_START_SECONDS } from '../../lib/policy/scaling-policy';
import { EXCESS_BACKLOG, SPARE_WORKERS } from '../../lib/policy/signals';
import { compare } from '../../lib/simulation/compare';
import { resolveConfig } from '../../lib/simulation/config';
import { oursPolicy } from '../../lib/simulation/policies';
import { scenarioTrace, SCENARIO_NAMES, DEFAULT_BASE_RATE } from '../../lib/simulation/trace';

const config = resolveConfig({});
const viral = scenarioTrace('viral-burst', { baseRatePerSecond: DEFAULT_BASE_RATE, seed: 1 });

describe('a comparison on the viral burst', () => {
  const result = compare(viral, config);

  test('runs every policy: ours, QueueProcessingFargateService defaults, plain steps, KEDA, our model on KEDA, fixed fleets, perfect foresight', () => {
    expect(result.summaries.map((s) => s.policy)).toEqual(['ours', 'qpfs-defaults', 'plain-steps', 'keda', 'ours-keda', 'fixed-4', 'fixed-20', 'perfect-foresight']);
  });

  test('no message is lost or created: sent = processed + still queued (visible, in flight, delayed)', () => {
    const sent = viral.points.reduce((n, p) => n + p.arrivals, 0);
    for (const run of result.runs) {
      expect(run.sent).toBe(sent);
      expect(run.processed + run.visibleAtEnd + run.inFlightAtEnd + run.delayedAtEnd).toBe(sent);
      expect(run.waits.every((w) => w >= 0)).toBe(true);
    }
  });

  test('invariants hold with delayed messages and a drain deadline that releases work too', () => {
    const hard = resolveConfig({ delayedFraction: 0.3, delaySeconds: 120, tailSeconds: 0, worker: { drainDeadlineSeconds: 5, processingTime: { distribution: 'exponential', meanSeconds: 20, cv: 1 } } });
    const r = compare(scenarioTrace('spiky', { baseRatePerSecond: 0.05, seed: 3 }), hard);
    for (const run of r.runs) {
      expect(run.processed + run.visibleAtEnd + run.inFlightAtEnd + run.delayedAtEnd).toBe(run.sent);
    }
    expect(r.runs.some((run) => run.released > 0)).toBe(true);
    expect(r.runs.some((run) => run.delayedAtEnd + run.visibleAtEnd > 0)).toBe(true);
  });

  test('the same seed gives identical results; another seed different ones', () => {
    const again = compare(viral, config);
    expect(again.summaries).toEqual(result.summaries);
    expect(again.runs.map((r) => r.events)).toEqual(result.runs.map((r) => r.events));
    const other = compare(viral, resolveConfig({ seed: 2 }));
    expect(other.summaries).not.toEqual(result.summaries);
  });

  test('perfect foresight is the cheapest scaling policy and nearly never late; a fixed fleet at max costs the most', () => {
    const by = Object.fromEntries(result.summaries.map((s) => [s.policy, s]));
    const foresight = by['perfect-foresight'];
    for (const s of result.summaries.filter((x) => !x.policy.startsWith('fixed'))) expect(s.workerMinutes).toBeGreaterThanOrEqual(foresight.workerMinutes);
    expect(foresight.waitP99).toBeLessThan(config.params.latencyGoalSeconds);
    expect(by['fixed-20'].workerMinutes).toBeCloseTo(20 * result.durationSeconds / 60, 6);
  });

  test('our policy acts on the first datapoint after the burst: it adds workers within 3 minutes of it', () => {
    const ours = result.runs[0];
    const burstStart = 3600;
    const first = ours.events.find((e) => e.time >= burstStart && e.to > e.from);
    expect(first?.time).toBeLessThanOrEqual(burstStart + 180);
  });

  test('every scenario runs', () => {
    for (const name of SCENARIO_NAMES) {
      const trace = scenarioTrace(name, { baseRatePerSecond: 0.02, seed: 1 });
      expect(trace.points.length).toBeGreaterThan(0);
      expect(trace.durationSeconds).toBeGreaterThanOrEqual(7200);
    }
  });
});

describe('ours: the model the constructs deploy, for the simulated worker', () => {
  test('the spare-workers rule gets the worker\'s concurrency, as BacklogScaling gets the fleet\'s', () => {
    const c4 = resolveConfig({ worker: { concurrency: 4 } });
    const policy = oursPolicy(c4.fleet, c4.params, 1);
    if (policy.kind !== 'rules') throw new Error('ours is a rule set');
    const scaleIn = policy.rules.rules.find((r) => r.metric.signal === SPARE_WORKERS);
    // Target from the latency goal: 60 s / 6 s x 4 = 40, of which the policies hold half; 20 busy workers hold 80 messages.
    // The burst projects the backlog's growth over a Fargate task's start-up: 60 s, one period.
    // The backlog is weighed by the measured task time over the worker's mean, 6 s.
    expect(scaleIn?.metric.signalParams).toEqual({ target: 20, concurrency: 4, inputsArriveTogether: false, growthPeriods: 1, declaredProcessingTimeMs: 6000 });
    // None of them is spare: the headroom, sqrt(80) / 4 workers, puts the count below 0.
    expect(SPARE_WORKERS.evaluate({ visible: 0, inFlight: 80, delayed: 0, running: 20, desired: 20 }, scaleIn!.metric.signalParams)).toBeCloseTo(-Math.sqrt(80) / 4, 9);
  });

  test('on EC2 the burst projects the growth over an instance\'s start-up, at most two periods, as Ec2AgentFleet sets it: from the warm pool or not', () => {
    const growthPeriods = (warmPool: boolean) => {
      const ec2 = resolveConfig({ worker: { compute: 'ec2' }, fleet: { warmPool } });
      const policy = oursPolicy(ec2.fleet, ec2.params, 1);
      if (policy.kind !== 'rules') throw new Error('ours is a rule set');
      expect(policy.warmPool !== undefined).toBe(warmPool);
      return policy.rules.rules.find((r) => r.metric.signal === EXCESS_BACKLOG)?.metric.signalParams.growthPeriods;
    };
    expect(growthPeriods(true)).toBe(growthHorizonSeconds(WORKER_START_SECONDS.ec2WarmPool, 60) / 60);
    expect(growthPeriods(true)).toBe(1);
    expect(growthPeriods(false)).toBe(growthHorizonSeconds(WORKER_START_SECONDS.ec2, 60) / 60);
    expect(growthPeriods(false)).toBe(2);
  });

  test('on EC2 a stopped instance in the warm pool bills its root volume: rootVolumeGiB sets the pool\'s price, a bad size is an error', () => {
    const ec2 = (fleet: object) => resolveConfig({ worker: { compute: 'ec2' }, fleet });
    const pool = (fleet: object) => {
      const c = ec2(fleet);
      return oursPolicy(c.fleet, c.params, 1).warmPool!;
    };
    // 30 GiB at $0.08 per GiB-month against a t3.medium's $0.0416 an hour.
    expect(pool({}).stoppedCostRatio).toBeCloseTo(2.4 / 30.368, 6);
    expect(pool({ rootVolumeGiB: 15 }).stoppedCostRatio).toBeCloseTo(pool({}).stoppedCostRatio / 2, 9);
    const [small, medium, large] = [10, 20, 30].map((rootVolumeGiB) => {
      const c = ec2({ rootVolumeGiB });
      return compare(viral, c, { policies: [oursPolicy(c.fleet, c.params, 1)] }).runs[0];
    });
    // The same fleet; the pool's stopped volumes cost in proportion to their size.
    expect(large.timeline.map((m) => m.workers)).toEqual(small.timeline.map((m) => m.workers));
    expect(large.workerMinutes - medium.workerMinutes).toBeGreaterThan(50);
    expect(large.workerMinutes - medium.workerMinutes).toBeCloseTo(medium.workerMinutes - small.workerMinutes, 6);
    expect(() => ec2({ rootVolumeGiB: 0 })).toThrow('invalid simulation config:\n  fleet.rootVolumeGiB must be an integer 1-16384, got 0');
    expect(() => oursPolicy({ ...ec2({}).fleet, rootVolumeGiB: 0 }, ec2({}).params, 1)).toThrow('fleet: invalid configuration (1 problem):\n  - rootVolumeGiB: must be an integer 1-16384, got 0');
  });

  test.each([1, 2, 3])('viral burst, seed %i: p95 wait <= 1/3 of QueueProcessingFargateService\'s, worker-minutes <= 1.3x perfect foresight', (seed) => {
    const trace = scenarioTrace('viral-burst', { baseRatePerSecond: DEFAULT_BASE_RATE, seed });
    const by = Object.fromEntries(compare(trace, resolveConfig({ seed })).summaries.map((s) => [s.policy, s]));
    expect(by.ours.waitP95).toBeLessThanOrEqual(by['qpfs-defaults'].waitP95 / 3);
    expect(by.ours.workerMinutes).toBeLessThanOrEqual(1.3 * by['perfect-foresight'].workerMinutes);
  });
});
