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

  test('a datapoint is readable only after its period plus the publication delay', () => {
    const dp = new Datapoints(logOf(() => 5, 600), { ...DEFAULT_CLOUDWATCH, publicationDelaySeconds: 60 });
    expect(dp.latestReadable(60, 119)).toBe(-1);
    expect(dp.latestReadable(60, 120)).toBe(0); // minute 0 ends at 60, readable at 120
    expect(dp.values({ signal: VISIBLE_MESSAGES, signalParams: NO_SIGNAL_PARAMS, periodSeconds: 60, statistic: Statistic.AVERAGE }, 240, 3)).toEqual([5, 5, 5]);
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

  test('an alarm in ALARM invokes its action on entering and again once a minute', () => {
    const actions = new AlarmActions(60);
    expect(actions.shouldInvoke('ALARM', 0)).toBe(true);
    expect(actions.shouldInvoke('ALARM', 30)).toBe(false);
    expect(actions.shouldInvoke('ALARM', 60)).toBe(true);
    expect(actions.shouldInvoke('OK', 90)).toBe(false);
    expect(actions.shouldInvoke('ALARM', 100)).toBe(true);
  });
});
