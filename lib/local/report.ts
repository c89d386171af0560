/** The end of a local run: the simulator-style table (live next to predicted), the accounting, the JSON report. */
import type { ScalingEvent } from '../simulation/autoscaler';
import type { RunResult } from '../simulation/engine';
import { formatTable } from '../simulation/report';
import { summarize } from '../simulation/stats';
import type { LocalRunResult } from './run';
import { clock } from './view';

/** `--report` JSON; times and worker-minutes in simulated time. */
export interface LocalRunReport {
  readonly trace: string;
  readonly speed: number;
  readonly simulatedSeconds: number;
  readonly wallSeconds: number;
  readonly replayWallSeconds: number;
  readonly sent: number;
  readonly processed: number;
  readonly deadLettered: number;
  readonly lost: number;
  readonly unfinished: number;
  readonly duplicates: number;
  readonly waitP50Seconds: number;
  readonly waitP95Seconds: number;
  readonly workerMinutes: number;
  readonly peakWorkers: number;
  readonly released: number;
  readonly meanProcessingSeconds: number;
  readonly scaleEvents: readonly ScalingEvent[];
  readonly predicted: PredictedFigures;
  /** The simulator on the same messages with the processing times the live handlers took. */
  readonly predictedWithMeasuredProcessing: PredictedFigures;
}

export interface PredictedFigures {
  readonly waitP95Seconds: number;
  readonly workerMinutes: number;
  readonly peakWorkers: number;
  readonly scaleEvents: number;
}

function figures(run: RunResult, latencyGoalSeconds: number): PredictedFigures {
  const s = summarize(run, latencyGoalSeconds);
  return { waitP95Seconds: round(s.waitP95), workerMinutes: round(s.workerMinutes, 1), peakWorkers: s.peakWorkers, scaleEvents: s.scaleEvents };
}

const round = (n: number, digits = 2): number => (Number.isFinite(n) ? Number(n.toFixed(digits)) : n);

export function toReport(r: LocalRunResult, latencyGoalSeconds: number): LocalRunReport {
  const live = summarize(r.live, latencyGoalSeconds);
  return {
    trace: r.trace.name,
    speed: r.speed,
    simulatedSeconds: r.live.durationSeconds,
    wallSeconds: round(r.wallSeconds, 1),
    replayWallSeconds: round(r.replayWallSeconds, 1),
    ...r.accounting,
    waitP50Seconds: round(live.waitP50),
    waitP95Seconds: round(live.waitP95),
    workerMinutes: round(live.workerMinutes, 1),
    peakWorkers: live.peakWorkers,
    released: r.live.released,
    meanProcessingSeconds: round(r.meanProcessingSeconds),
    scaleEvents: r.live.events.map((e) => ({ ...e, time: round(e.time, 0) })),
    predicted: figures(r.predicted, latencyGoalSeconds),
    predictedWithMeasuredProcessing: figures(r.predictedMeasured, latencyGoalSeconds),
  };
}

/** Lag behind the clock worth a warning: a CloudWatch datapoint period. */
const LAG_WARNING_SECONDS = 60;

function ratio(live: number, predicted: number): string {
  return predicted === 0 ? '-' : `${(live / predicted).toFixed(2)}x`;
}

/** What the command prints at the end. */
export function formatLocalReport(r: LocalRunResult, latencyGoalSeconds: number): string {
  const live = summarize(r.live, latencyGoalSeconds);
  const predicted = summarize(r.predicted, latencyGoalSeconds);
  const a = r.accounting;
  return [
    `scenario: ${r.trace.name} (${r.trace.description})`,
    `${a.sent} messages over ${(r.trace.durationSeconds / 60).toFixed(0)} min, simulated ${(r.live.durationSeconds / 60).toFixed(0)} min at ${r.speed}x in ${r.replayWallSeconds.toFixed(0)} s (${r.wallSeconds.toFixed(0)} s in all, ${r.warmUpWallSeconds.toFixed(0)} s of it starting the worker processes); latency goal ${latencyGoalSeconds} s`,
    '',
    formatTable([live, predicted, summarize(r.predictedMeasured, latencyGoalSeconds)]),
    '',
    `  live:      real worker processes on an embedded SQS queue, scaled by ${r.policy.description}`,
    '  predicted: the simulator on the same messages and settings',
    '  predicted, measured service: the simulator on the same messages with the processing times the live handlers took',
    `  live / predicted: worker-minutes ${ratio(live.workerMinutes, predicted.workerMinutes)}, peak workers ${ratio(live.peakWorkers, predicted.peakWorkers)}, p95 wait ${ratio(live.waitP95, predicted.waitP95)}`,
    `  mean processing time ${r.meanProcessingSeconds.toFixed(2)} s simulated (the prediction assumes ${r.predictedMeanProcessingSeconds.toFixed(2)} s); the autoscaler fell at most ${r.maxTickLagSeconds.toFixed(1)} s simulated behind the clock`,
    ...(r.maxTickLagSeconds > LAG_WARNING_SECONDS
      ? [`  warning: this machine was too busy for ${r.speed}x (the live run's timing is distorted by up to ${r.maxTickLagSeconds.toFixed(0)} s); a lower --speed gives truer figures`]
      : []),
    '',
    `accounting: ${a.sent} sent = ${a.processed} processed + ${a.deadLettered} dead-lettered + ${a.lost} lost` +
      `${a.unfinished > 0 ? ` (${a.unfinished} still queued)` : ''}; ${a.duplicates} processed more than once; ${r.live.released} released by draining workers`,
    `scale events: ${r.live.events.length} live (${r.live.events.slice(0, 1).concat(r.live.events.slice(-1)).map((e) => `${clock(e.time)} ${e.from}→${e.to}`).join(' … ')}), ${r.predicted.events.length} predicted`,
  ].join('\n');
}
