import { Duration } from 'aws-cdk-lib';
import { BacklogTarget } from '../../lib';

describe('BacklogTarget', () => {
  test('perWorker is the number given', () => {
    expect(BacklogTarget.perWorker(25).messagesPerWorker).toBe(25);
  });

  test('fromLatency is AWS\'s formula: 10 s acceptable latency / 0.1 s processing = 100', () => {
    const target = BacklogTarget.fromLatency({ acceptableLatency: Duration.seconds(10), processingTime: Duration.millis(100) });
    expect(target.messagesPerWorker).toBeCloseTo(100, 9);
    expect(target.acceptableLatency?.toSeconds()).toBe(10);
  });

  test('fromLatency scales with the worker\'s concurrency: 60 s / 6 s x 4 = 40', () => {
    const target = BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6), concurrency: 4 });
    expect(target.messagesPerWorker).toBe(40);
  });

  test('a latency target weighs the backlog by the measured processing time unless told not to; a fixed one never does', () => {
    const latency = { acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6) };
    expect(BacklogTarget.fromLatency(latency).weighsMeasuredTime).toBe(true);
    expect(BacklogTarget.fromLatency({ ...latency, weighByMeasuredTime: false }).weighsMeasuredTime).toBe(false);
    expect(BacklogTarget.perWorker(25).weighsMeasuredTime).toBe(false);
  });
});
