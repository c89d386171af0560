import { Statistic, VISIBLE_MESSAGES, Comparison, NO_SIGNAL_PARAMS } from '../../lib/policy/rules';
import { AlarmActions, alarmState, Datapoints, SampleLog } from '../../lib/simulation/cloudwatch';
import { DEFAULT_CLOUDWATCH } from '../../lib/simulation/params';

function logOf(visibleAt: (second: number) => number, seconds: number, publishing = () => true): SampleLog {
  const log = new SampleLog(seconds);
  for (let t = 0; t < seconds; t++) {
    log.record(t, { visible: visibleAt(t), inFlight: 0, delayed: 0, running: 2, desired: 2, cpuUtilization: t % 2 === 0 ? 0 : 100 }, publishing());
  }
  return log;
}

describe('CloudWatch datapoints', () => {
  test('one-minute counts are the snapshot at the end of the minute; CPU is averaged', () => {
    const dp = new Datapoints(logOf((t) => t, 180), DEFAULT_CLOUDWATCH);
    expect(dp.datapoint(60, Statistic.AVERAGE, 0)).toMatchObject({ visible: 59, running: 2, cpuUtilization: 50 });
    expect(dp.datapoint(60, Statistic.MAXIMUM, 1)?.visible).toBe(119);
    expect(dp.datapoint(60, Statistic.AVERAGE, 3)).toBeUndefined(); // not complete yet
  });

  test('a 5-minute Maximum is the largest of its five one-minute snapshots; Average their mean', () => {
    const dp = new Datapoints(logOf((t) => (t === 119 ? 1000 : 1), 300), DEFAULT_CLOUDWATCH);
    expect(dp.datapoint(300, Statistic.MAXIMUM, 0)?.visible).toBe(1000);
    expect(dp.datapoint(300, Statistic.AVERAGE, 0)?.visible).toBeCloseTo((1000 + 4) / 5, 9);
  });

  test('a high-resolution period takes one snapshot at its end', () => {
    const dp = new Datapoints(logOf((t) => t, 60), DEFAULT_CLOUDWATCH);
    expect(dp.datapoint(10, Statistic.AVERAGE, 2)?.visible).toBe(29);
  });

  test('the workers\' processing time: the mean (ms) of the tasks completed in the newest whole minute, which a 10 s period repeats; NaN with none', () => {
    const log = logOf(() => 0, 180);
    log.completed(10, 4);
    log.completed(59, 8);
    log.completed(130, 3);
    const dp = new Datapoints(log, DEFAULT_CLOUDWATCH);
    expect(dp.datapoint(60, Statistic.MAXIMUM, 0)?.processingTimeMs).toBe(6000);
    expect(dp.datapoint(60, Statistic.MAXIMUM, 1)?.processingTimeMs).toBeNaN();
    expect(dp.datapoint(60, Statistic.MAXIMUM, 2)?.processingTimeMs).toBe(3000);
    // 10 s datapoints read the minute before them until the next minute ends (the metric is written once a minute).
    expect(dp.datapoint(10, Statistic.MAXIMUM, 3)?.processingTimeMs).toBeNaN();
    expect(dp.datapoint(10, Statistic.MAXIMUM, 5)?.processingTimeMs).toBe(6000);
    expect(dp.datapoint(10, Statistic.MAXIMUM, 10)?.processingTimeMs).toBe(6000);
    expect(dp.datapoint(10, Statistic.MAXIMUM, 11)?.processingTimeMs).toBeNaN();
  });

  test('a datapoint is readable only after its period plus the publication delay', () => {
    const dp = new Datapoints(logOf(() => 5, 600), { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 60 });
    expect(dp.latestReadable(60, 119)).toBe(-1);
    expect(dp.latestReadable(60, 120)).toBe(0); // minute 0 ends at 60, readable at 120
    expect(dp.values({ signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE }, 240, 3)).toEqual([5, 5, 5]);
  });

  test('late newest datapoints: with metric math the fleet\'s counts may lag the queue\'s, and FILL(REPEAT) reads the previous ones', () => {
    const log = new SampleLog(600);
    for (let t = 0; t < 600; t++) log.record(t, { visible: 50, inFlight: 0, delayed: 0, running: 10, desired: t < 240 ? 10 : 20, cpuUtilization: 50 }, true);
    const late = { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 0, lateness: { lateFleetInputsProbability: 1, missingNewestProbability: 1 } };
    const dp = new Datapoints(log, late);
    const desired = { id: 'desired', label: 'desired', evaluate: (x: { desired: number }) => x.desired };
    const metric = { signal: desired, signalParams: { target: 5, concurrency: 1, inputsArriveTogether: false }, periodSeconds: 60, statistic: Statistic.MAXIMUM };
    // Minute 4 (desired 20) is the newest at 300 s: its fleet counts are not there yet, minute 3's (10) are used; older ones are whole.
    expect(dp.values(metric, 300, 2)).toEqual([10, 10]);
    expect(dp.values(metric, 360, 2)).toEqual([20, 20]);
    // With inputs that arrive together (the publisher), the newest datapoint is there whole or not at all.
    expect(dp.values({ ...metric, signalParams: { ...metric.signalParams, inputsArriveTogether: true } }, 300, 2)).toEqual([10, NaN]);
    // Metrics that name no pipeline (the baselines' single metrics) arrive whole.
    expect(dp.values({ ...metric, signalParams: NO_SIGNAL_PARAMS }, 300, 2)).toEqual([10, 20]);
  });

  test('each datapoint carries DIFF(visible) from the one before it; the first, with none before it, 0 (FILL(DIFF(visible), 0))', () => {
    const dp = new Datapoints(logOf((t) => 3 * t, 300), { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 0 });
    const growth = { id: 'growth', label: 'growth', evaluate: (x: { visibleGrowth?: number }) => x.visibleGrowth ?? NaN };
    const metric = { signal: growth, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.MAXIMUM };
    // Snapshots 177, 357, 537 at the ends of minutes 0-2: 180 more each minute.
    expect(dp.values(metric, 180, 3)).toEqual([0, 180, 180]);
  });

  test('no datapoint while SQS publishes nothing', () => {
    const dp = new Datapoints(logOf(() => 5, 120, () => false), DEFAULT_CLOUDWATCH);
    expect(dp.datapoint(60, Statistic.AVERAGE, 0)).toBeNull();
  });
});

describe('alarms', () => {
  test('ALARM only when all N datapoints breach; missing data is INSUFFICIENT_DATA', () => {
    expect(alarmState([11, 12, 13], 3, Comparison.GREATER_THAN, 10)).toBe('ALARM');
    expect(alarmState([11, 9, 13], 3, Comparison.GREATER_THAN, 10)).toBe('OK');
    expect(alarmState([11, NaN, 13], 3, Comparison.GREATER_THAN, 10)).toBe('INSUFFICIENT_DATA');
    expect(alarmState([11, 12], 3, Comparison.GREATER_THAN, 10)).toBe('INSUFFICIENT_DATA');
  });

  test('M of N: ALARM when at least M of the N newest breach; a missing datapoint counts as not breaching for the step alarms', () => {
    // Scale-in's 2 of 3: a newest datapoint that has not arrived (or arrived half-filled) does not restart the run.
    expect(alarmState([2, 2, NaN], 3, Comparison.GREATER_THAN_OR_EQUAL, 1, 2, 'notBreaching')).toBe('ALARM');
    expect(alarmState([2, 0, NaN], 3, Comparison.GREATER_THAN_OR_EQUAL, 1, 2, 'notBreaching')).toBe('OK');
    // Requiring all three (the previous model) restarts the run on every late datapoint.
    expect(alarmState([2, 2, NaN], 3, Comparison.GREATER_THAN_OR_EQUAL, 1, 3, 'notBreaching')).toBe('OK');
  });

  test('an alarm in ALARM invokes its action on entering and again once a minute', () => {
    const actions = new AlarmActions(60);
    expect(actions.shouldInvoke('ALARM', 0)).toBe(true);
    expect(actions.shouldInvoke('ALARM', 30)).toBe(false);
    expect(actions.shouldInvoke('ALARM', 60)).toBe(true);
    expect(actions.shouldInvoke('OK', 90)).toBe(false);
    expect(actions.shouldInvoke('ALARM', 100)).toBe(true);
  });
});
