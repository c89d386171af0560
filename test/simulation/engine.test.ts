import { Comparison, NO_SIGNAL_PARAMS, QUEUED_MESSAGES_RULE_SIGNAL, Statistic } from './fixtures';
import { AdjustmentType } from '../../lib/policy/steps';
import type { StepRule } from '../../lib/policy/rules';
import { simulate } from '../../lib/simulation/engine';
import { DEFAULT_PARAMS, type SimulationParams } from '../../lib/simulation/params';
import { fixedPolicy, foresightPolicy, reactiveBoundPolicy, type SimulationPolicy } from '../../lib/simulation/policies';
import type { Messages } from '../../lib/simulation/trace';

function messages(sent: number[], processing: number[]): Messages {
  return { count: sent.length, sentAt: Float64Array.from(sent), visibleAt: Float64Array.from(sent), processingSeconds: Float64Array.from(processing) };
}

const params: SimulationParams = { ...DEFAULT_PARAMS, cloudWatch: { ...DEFAULT_PARAMS.cloudWatch, publicationDelaySeconds: 0 } };

describe('the loop, on hand-worked cases', () => {
  test('one worker, three messages at once, 10 s each: they wait 0, 10 and 20 s', () => {
    const run = simulate(messages([0, 0, 0], [10, 10, 10]), fixedPolicy(1), params, 120);
    expect(Array.from(run.waits)).toEqual([0, 10, 20]);
    expect(run.processed).toBe(3);
    expect(run.workerMinutes).toBe(2);
    expect(run.timeline).toEqual([
      // Idle at both minute ends (the last message is done at 30 s): idleCpuPercent.
      { minute: 0, arrivals: 3, backlog: 0, workers: 1, waitP95: 20, cpuUtilization: 2 },
      { minute: 1, arrivals: 0, backlog: 0, workers: 1, waitP95: NaN, cpuUtilization: 2 },
    ]);
  });

  test('concurrency 2 halves the waits; a delayed message waits from when it becomes visible', () => {
    const p = { ...params, worker: { ...params.worker, concurrency: 2 } };
    const m = messages([0, 0, 0, 0], [10, 10, 10, 10]);
    const delayed = { ...m, visibleAt: Float64Array.from([0, 0, 0, 30]) };
    const run = simulate(delayed, fixedPolicy(1), p, 60);
    expect(Array.from(run.waits)).toEqual([0, 0, 10, 0]);
  });

  test('a message arriving mid-second starts at its arrival time on an idle worker', () => {
    const run = simulate(messages([5.25], [2]), fixedPolicy(1), params, 20);
    expect(run.waits[0]).toBe(0);
  });

  test('perfect foresight starts workers with no delay', () => {
    const run = simulate(messages([10, 10, 10, 10], [60, 60, 60, 60]), foresightPolicy(10, 0), params, 200);
    expect(Array.from(run.waits)).toEqual([0, 0, 0, 0]);
    expect(run.peakWorkers).toBe(4);
  });

  test('a worker started by a policy becomes ready only after the start-up delay', () => {
    const p = { ...params, worker: { ...params.worker, startupSeconds: { min: 30, max: 30 } } };
    const run = simulate(messages([0], [5]), scaleOnAnyMessage(), p, 300);
    // The alarm reads minute 0 at 60 s, the worker is ready at 90 s.
    expect(run.waits[0]).toBe(90);
    expect(run.events[0]).toMatchObject({ time: 60, from: 0, to: 1 });
  });
});

describe('the workers\' prefetch, as AgentWorker holds it', () => {
  // Two workers of concurrency 1; three 100 s tasks at 0 s, a fourth at 50 s. At 100 s both finish,
  // the first takes the third task, and the fourth goes to whoever has room for it.
  const tasks = messages([0, 0, 0, 50], [100, 100, 100, 100]);
  const run = (prefetchSeconds: number, seconds: number) =>
    simulate(tasks, fixedPolicy(2), { ...params, worker: { ...params.worker, concurrency: 1, prefetchSeconds } }, seconds);

  test('tasks longer than the window per slot prefetch nothing: the fourth task starts at 100 s on the other worker', () => {
    expect(run(params.worker.prefetchSeconds, 400).waits[3]).toBe(50);
    const at150 = run(params.worker.prefetchSeconds, 150);
    expect([at150.inFlightAtEnd, at150.visibleAtEnd]).toEqual([2, 0]);
  });

  test('a window that holds them: the first worker takes the fourth into its buffer (in flight), where it waits for that worker\'s slot while the other idles', () => {
    expect(run(3600, 400).waits[3]).toBe(150);
    const at150 = run(3600, 150);
    expect([at150.inFlightAtEnd, at150.visibleAtEnd]).toEqual([2, 0]);
    expect(at150.timeline.at(-1)?.cpuUtilization).toBeCloseTo(51, 9); // one of the two workers busy
  });
});

describe('the reactive bound', () => {
  const delayed = { ...params, cloudWatch: { ...params.cloudWatch, publicationDelaySeconds: 60 }, worker: { ...params.worker, startupSeconds: { min: 30, max: 30 } } };
  // 60 messages of 60 s from 600 s on, one a second: one worker's work each.
  const onset = messages(Array.from({ length: 60 }, (_, i) => 600 + i), Array.from({ length: 60 }, () => 60));

  test('acts on the newest readable datapoint only: a one-minute snapshot taken at 659 s, readable at 720 s', () => {
    const run = simulate(onset, reactiveBoundPolicy(1000, 0, 60, { windowSeconds: 60, holdSeconds: 0 }), delayed, 1200);
    // The snapshot at the end of second 659: 60 messages visible (3,600 s of work) and the same 60
    // as the last minute's arrivals, the forecast of the next one's: 7,200 s over 60 s.
    expect(run.events[0]).toMatchObject({ time: 720, from: 0, to: 120 });
    // Ready 30 s later: the first message waited 150 s.
    expect(run.waits[0]).toBe(150);
  });

  test('with 10 s datapoints it acts 70 s sooner; a smaller window sizes for faster work; a hold keeps the need', () => {
    const fast = { ...delayed, cloudWatch: { ...delayed.cloudWatch, publicationDelaySeconds: 10 } };
    const run = simulate(onset, reactiveBoundPolicy(100, 0, 10, { windowSeconds: 60, holdSeconds: 0 }), fast, 1200);
    // The snapshot at 609 s (ten messages visible and arrived: 1,200 s of work over 60 s) is readable at 620 s.
    expect(run.events[0]).toMatchObject({ time: 620, from: 0, to: 20 });
    const quick = simulate(onset, reactiveBoundPolicy(100, 0, 10, { windowSeconds: 30, holdSeconds: 0 }), fast, 1200);
    expect(quick.events[0]).toMatchObject({ time: 620, to: 40 });
    const held = simulate(onset, reactiveBoundPolicy(100, 0, 10, { windowSeconds: 60, holdSeconds: 600 }), fast, 1200);
    expect(held.workerMinutes).toBeGreaterThan(run.workerMinutes);
    expect(Math.min(...held.events.filter((e) => e.to < e.from).map((e) => e.time))).toBeGreaterThan(Math.min(...run.events.filter((e) => e.to < e.from).map((e) => e.time)) + 500);
  });
});

describe('EC2 instance warm-up', () => {
  test('counts from when the instance is ready (InService), not from its launch: scale-in waits that long', () => {
    const ec2 = { ...params, worker: { ...params.worker, compute: 'ec2' as const, startupSeconds: { min: 100, max: 100 }, instanceWarmupSeconds: 180 } };
    const base = scaleOnAnyMessage();
    if (base.kind !== 'rules') throw new Error('rules');
    const idle: StepRule = {
      kind: 'step', name: 'idle', metric: { signal: QUEUED_MESSAGES_RULE_SIGNAL('visible'), signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.MAXIMUM },
      comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0, evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.EXACT_CAPACITY,
      steps: [{ upper: 0, change: 0 }], cooldownSeconds: 0,
    };
    const run = simulate(messages([0], [5]), { ...base, rules: { ...base.rules, rules: [...base.rules.rules, idle] } }, ec2, 600);
    // Launched at 60 s, ready at 160 s, warm at 340 s: the first scale-in is at the next evaluation, 360 s (from launch it would be 240 s).
    expect(run.events.map((e) => [e.time, e.to])).toEqual([[60, 1], [360, 0]]);
  });
});

describe('an EC2 group\'s warm pool', () => {
  const cold = { ...params, worker: { ...params.worker, startupSeconds: { min: 30, max: 30 } } };
  const warmPool = (maxPrepared: number, stoppedCostRatio = 0) => ({ maxPrepared, startupSeconds: { min: 10, max: 10 }, stoppedCostRatio });

  test('a scale-out starts a prepared instance in its warm start-up, not a new one\'s', () => {
    const run = simulate(messages([0], [5]), { ...scaleOnAnyMessage(), warmPool: warmPool(5) }, cold, 300);
    // The alarm reads minute 0 at 60 s; the instance from the pool is ready at 70 s, not 90 s.
    expect(run.waits[0]).toBe(70);
  });

  test('with the pool empty, the instance starts cold', () => {
    const run = simulate(messages([0], [5]), { ...scaleOnAnyMessage(), warmPool: warmPool(0) }, cold, 300);
    expect(run.waits[0]).toBe(90);
  });

  test('scale-in stops the drained instance back into the pool: stopped, it is no worker time, and it starts warm again', () => {
    const p = { ...cold, worker: { ...cold.worker, drainDeadlineSeconds: 300 } };
    // One worker at 0 and none in the pool: scale-in at 60 s, drained at 200 s, back in the pool.
    const again = messages([0, 400], [200, 5]);
    const run = simulate(again, { ...zeroThenOne(), warmPool: warmPool(1) }, p, 600);
    expect(run.events.map((e) => [e.time, e.to])).toEqual([[60, 0], [420, 1], [480, 0]]);
    // The second message waits for the returned instance's warm start (ready at 430 s), not a new one's (450 s).
    expect(run.waits[1]).toBe(430 - 400);
    // Worker time: 0-200 s, then 420-480 s; none while it was stopped in the pool...
    expect(run.workerMinutes).toBeCloseTo((200 + 60) / 60, 9);
    // ...but its volume's share of it: stopped 200-420 s and 480-600 s.
    const billed = simulate(again, { ...zeroThenOne(), warmPool: warmPool(1, 0.1) }, p, 600);
    expect(billed.workerMinutes * 60).toBeCloseTo(260 + 0.1 * (220 + 120), 0);
  });
});

describe('scale-in drains', () => {
  test('a removed worker finishes its in-flight message before it stops', () => {
    const p = { ...params, worker: { ...params.worker, drainDeadlineSeconds: 300 } };
    const run = simulate(messages([0], [200]), zeroWhenNothingVisible(1), p, 400);
    expect(run.events).toEqual([{ time: 60, rule: 'zero', from: 1, to: 0 }]);
    expect(run.processed).toBe(1);
    expect(run.released).toBe(0);
    expect(run.workerMinutes).toBeCloseTo(200 / 60, 9);
  });

  test('past the drain deadline it releases the message back to the queue', () => {
    const p = { ...params, worker: { ...params.worker, drainDeadlineSeconds: 100 } };
    const run = simulate(messages([0], [200]), zeroWhenNothingVisible(1), p, 400);
    expect(run.released).toBe(1);
    expect(run.processed).toBe(0);
    expect(run.visibleAtEnd).toBe(1);
    expect(run.workerMinutes).toBeCloseTo(161 / 60, 9);
  });
});

function zeroWhenNothingVisible(initialWorkers: number): SimulationPolicy {
  return {
    kind: 'rules', name: 'zero-when-idle', description: '', initialWorkers,
    rules: {
      minWorkers: 0, maxWorkers: 5, rules: [{
        kind: 'step', name: 'zero', metric: { signal: QUEUED_MESSAGES_RULE_SIGNAL('visible'), signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.MAXIMUM },
        comparison: Comparison.LESS_THAN_OR_EQUAL, threshold: 0, evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.EXACT_CAPACITY,
        steps: [{ upper: 0, change: 0 }], cooldownSeconds: 300,
      }],
    },
  };
}

/** To 0 when nothing is queued, to 1 when a message is visible (one worker at 0). */
function zeroThenOne(): SimulationPolicy {
  const zero = zeroWhenNothingVisible(1);
  const one = scaleOnAnyMessage();
  if (zero.kind !== 'rules' || one.kind !== 'rules') throw new Error('rule sets');
  return { ...zero, rules: { ...zero.rules, rules: [...zero.rules.rules, ...one.rules.rules] } };
}

function scaleOnAnyMessage(): SimulationPolicy {
  return {
    kind: 'rules', name: 'one-on-any', description: '', initialWorkers: 0,
    rules: {
      minWorkers: 0, maxWorkers: 5, rules: [{
        kind: 'step', name: 'one', metric: { signal: QUEUED_MESSAGES_RULE_SIGNAL('visible'), signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.MAXIMUM },
        comparison: Comparison.GREATER_THAN, threshold: 0, evaluationPeriods: 1, datapointsToAlarm: 1, adjustmentType: AdjustmentType.EXACT_CAPACITY,
        steps: [{ lower: 0, change: 1 }], cooldownSeconds: 300,
      }],
    },
  };
}
