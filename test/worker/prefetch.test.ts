import { prefetchFor, receiveSize, TaskTimeAverage } from '../../lib/worker/prefetch';

describe('the prefetch a worker holds', () => {
  test('none before a task has been measured; then concurrency x window / mean task time, at most the option', () => {
    expect(prefetchFor(10, 8, 1, NaN)).toBe(0);
    expect(prefetchFor(10, 8, 1, 6)).toBe(1); // 8 slots of 6 s tasks start 1.33 within a second
    expect(prefetchFor(10, 8, 0.5, 6)).toBe(0);
    expect(prefetchFor(10, 1, 0.5, 0.2)).toBe(2);
    expect(prefetchFor(10, 10, 0.5, 0.02)).toBe(10);
    expect(prefetchFor(3, 10, 1, 0)).toBe(3); // a no-op task
    expect(prefetchFor(10, 10, 0, 0)).toBe(0); // a window of 0 never prefetches
  });

  test('the measured task time is the first task, then a running mean weighted to the last ten or so', () => {
    const t = new TaskTimeAverage();
    expect(t.seconds).toBeNaN();
    t.add(2);
    expect(t.seconds).toBe(2);
    t.add(12);
    expect(t.seconds).toBeCloseTo(3, 9);
    for (let i = 0; i < 50; i++) t.add(60);
    expect(t.seconds).toBeGreaterThan(59);
  });

  test('receives a full batch when there is room for one, a partial one only when a slot is idle', () => {
    // concurrency 8, prefetch 8 (capacity 16), batches of 10
    expect(receiveSize(6, 16, 8, 10)).toBe(10); // room for a full batch
    expect(receiveSize(8, 16, 8, 10)).toBe(0); // every slot busy, room for 8 only: wait
    expect(receiveSize(7, 16, 8, 10)).toBe(9); // a slot idle: what there is room for
    expect(receiveSize(16, 16, 8, 10)).toBe(0);
    // no prefetch (capacity = concurrency): a slot idle receives for the idle slots
    expect(receiveSize(5, 8, 8, 10)).toBe(3);
    expect(receiveSize(8, 8, 8, 10)).toBe(0);
  });
});
