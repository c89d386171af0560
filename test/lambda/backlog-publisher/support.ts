import { CloudWatchClient, PutMetricDataCommand, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';

/** A clock that only moves when the handler sleeps (or the test says so), and a Lambda context on it. */
export function fakeTime(timeoutMs = 70_000, startMs = Date.parse('2026-01-01T00:00:00.000Z')) {
  let now = startMs;
  const sleeps: number[] = [];
  return {
    startMs,
    sleeps,
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
    advance(ms: number) {
      now += ms;
    },
    context: { getRemainingTimeInMillis: () => timeoutMs - (now - startMs) },
  };
}

/** A CloudWatch client whose PutMetricData calls are answered (or failed) by the test and recorded. */
export function mockCloudWatch() {
  const client = new CloudWatchClient({ region: 'us-east-1' });
  const mock = mockClient(client);
  mock.on(PutMetricDataCommand).resolves({});
  return {
    client,
    mock,
    /** The input of every PutMetricData call, in order. */
    puts: () => mock.commandCalls(PutMetricDataCommand).map((call) => call.args[0].input),
  };
}

/** A put's data by metric name: value and timestamp. */
export function byMetric(data: readonly MetricDatum[] | undefined): Record<string, number | undefined> {
  return Object.fromEntries((data ?? []).map((d) => [d.MetricName!, d.Value]));
}

/** Collects the handler's log lines, parsed. */
export function logLines() {
  const lines: string[] = [];
  return {
    log: (line: string) => lines.push(line),
    parsed: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}
