import { backlogPerWorker, clampCapacity, targetFromLatency, targetTrackingCapacity } from '../../lib/policy/backlog';
import { BACKLOG_PER_WORKER, EXCESS_BACKLOG, QUEUED_MESSAGES, SPARE_WORKERS } from '../../lib/policy/signals';

describe('backlog per worker (AWS "Scaling policy based on Amazon SQS")', () => {
  test('AWS worked example: 1,500 visible, 10 workers, target 100 -> 15 workers', () => {
    // GIVEN the example's queue and fleet
    const metric = backlogPerWorker(1500, 10);
    // WHEN target tracking computes the new capacity
    const capacity = targetTrackingCapacity(10, metric, 100);
    // THEN
    expect(metric).toBe(150);
    expect(capacity).toBe(15);
  });

  test('10 s latency / 0.1 s processing -> target 100; concurrency multiplies it', () => {
    expect(targetFromLatency(10, 0.1)).toBeCloseTo(100, 9);
    expect(targetFromLatency(60, 6)).toBe(10);
    expect(targetFromLatency(60, 6, 4)).toBe(40);
  });

  test('no running workers counts as one', () => {
    expect(backlogPerWorker(42, 0)).toBe(42);
    expect(backlogPerWorker(42, 2)).toBe(21);
  });

  test('target tracking rounds up when scaling out and down when scaling in', () => {
    expect(targetTrackingCapacity(10, 101, 100)).toBe(11); // 10.1 -> 11
    expect(targetTrackingCapacity(10, 99, 100)).toBe(9); // 9.9 -> 9
    expect(targetTrackingCapacity(10, 110, 100)).toBe(11); // 10 x 1.1 is not 11.000000000000002 -> 12
    expect(targetTrackingCapacity(0, 500, 100)).toBe(0); // cannot leave 0
  });

  test('clampCapacity keeps capacity inside the bounds', () => {
    expect(clampCapacity(25, 0, 20)).toBe(20);
    expect(clampCapacity(-1, 1, 20)).toBe(1);
    expect(clampCapacity(7, 1, 20)).toBe(7);
  });
});

describe('signals: the expression CloudFormation gets and the function the simulator runs', () => {
  const sample = { visible: 300, inFlight: 50, delayed: 7, running: 4 };

  test('backlog per worker', () => {
    expect(BACKLOG_PER_WORKER.evaluate(sample, 10)).toBe(75);
    expect(BACKLOG_PER_WORKER.expression(10)).toMatch(/^visible \/ IF\(.*running.* > 1, .*running.*, 1\)$/);
  });

  test('excess backlog: visible - target x running; with no workers any message is excess', () => {
    expect(EXCESS_BACKLOG.evaluate(sample, 10)).toBe(260);
    expect(EXCESS_BACKLOG.evaluate({ ...sample, visible: 1, running: 0 }, 10)).toBe(1);
    expect(EXCESS_BACKLOG.expression(10)).toMatch(/^visible - 10 \* .*running/);
  });

  test('spare workers count in-flight messages as work and never go below one needed worker', () => {
    expect(SPARE_WORKERS.evaluate(sample, 10)).toBe(4 - 35);
    expect(SPARE_WORKERS.evaluate({ visible: 0, inFlight: 0, delayed: 0, running: 5 }, 10)).toBe(4);
    expect(SPARE_WORKERS.expression(10)).toContain('(visible + inFlight) / 10');
  });

  test('queued messages: visible + in flight + delayed', () => {
    expect(QUEUED_MESSAGES.evaluate(sample, 10)).toBe(357);
    expect(QUEUED_MESSAGES.expression(10)).toBe('visible + inFlight + delayed');
  });
});
