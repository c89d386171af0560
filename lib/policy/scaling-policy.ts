import { KEEP_HEADROOM, type KeepParams, type SignalParams } from './signals';
import { AdjustmentType, MAX_STEPS, validateSteps, type ScalingStep } from './steps';
import { UTILIZATION_DEFAULTS, validateUtilization, type UtilizationSignal } from './utilization';
import { check, checkIntegerRange, checkRange, type Violation } from './violation';

/**
 * AWS facts the policy relies on (seconds). Each is AWS's documented value unless marked.
 */
export const AWS_SCALING_FACTS = {
  /** SQS publishes its Approximate* metrics once a minute (SQS Developer Guide, "CloudWatch metrics for Amazon SQS"). */
  sqsMetricPeriodSeconds: 60,
  /** High-resolution periods that EC2 Auto Scaling target tracking accepts (10, 30 or 60 s). */
  highResolutionPeriodsSeconds: [10, 30, 60] as readonly number[],
  /** Default cooldown of ECS service auto scaling policies, both ways (ECS Developer Guide). */
  defaultCooldownSeconds: 300,
  /** Target tracking scale-out alarm: 3 of 3 one-minute datapoints above target (reported). */
  targetTrackingScaleOutDatapoints: 3,
  /** Target tracking scale-in alarm: 15 of 15 datapoints below 90 % of target (15 reported; the 10 % rule stated by AWS). */
  targetTrackingScaleInDatapoints: 15,
  targetTrackingScaleInRatio: 0.9,
  /**
   * Time from a period's end until its datapoint is readable by an alarm: "a few minutes at worst;
   * irregular" (AWS, qualitative), so chosen, not documented. CloudWatch gives no bound for
   * PutMetricData either. The simulator's default (`DEFAULT_CLOUDWATCH`) and the scale-in
   * cooldown (`defaultScaleInCooldownSeconds`) use it.
   */
  metricPublicationDelaySeconds: 60,
  /**
   * An alarm that stays in ALARM invokes its scaling action again once a minute, whatever its
   * period (stated; the simulator's default `cloudWatch.alarmReinvokeSeconds`).
   */
  alarmReinvokeSeconds: 60,
} as const;

/**
 * Instance warm-up of an EC2 fleet's group (DefaultInstanceWarmup and every policy's
 * EstimatedInstanceWarmup), counted from InService: until it ends, an instance is not current
 * capacity for scale-out (the same step again launches nothing) and blocks scale-in. The fleet's
 * launch hook keeps an instance out of service until its worker takes messages, so the warm-up
 * need not cover the start-up (that is `WORKER_START_SECONDS`); one minute lets a one-minute
 * datapoint taken after the instance came in show it. On the suite's 60 EC2 cells, with EC2
 * Auto Scaling's rules simulated, 60 s passed 45 cells at 1.32x perfect foresight's
 * worker-minutes, 180 s 43 at 1.40x (docs/simulation.md, fourth round, with the second seed):
 * each batch dump's workers are released minutes earlier. Not EC2 Auto Scaling's fallback, the
 * 300 s default cooldown.
 * `Ec2AgentFleet` deploys it and the simulator executes it.
 */
export const EC2_INSTANCE_WARMUP_SECONDS = 60;

/**
 * The default root volume of an EC2 fleet's instances (gp3, GiB; `Ec2AgentFleet` `rootVolumeGiB`):
 * room for Docker and an agent image of a few GB. It is all a stopped instance in the warm pool
 * bills, which the simulator prices (`warmPoolStoppedCostRatio`).
 */
export const EC2_ROOT_VOLUME_GIB = 30;

/**
 * How long a requested worker takes to start taking messages, at worst, by compute: Fargate
 * tasks 25-60 s, EC2 instances 60-180 s to InService with the agent running (both reported; no
 * AWS figure), and 30-60 s for an instance started from the group's warm pool (`ec2WarmPool`:
 * stopped with Docker installed and the image pulled; "as low as 30 seconds", reported at the
 * warm pools' launch; no AWS figure for the upper end, chosen as Fargate's). The burst signal
 * projects the backlog's growth over it (`growthHorizonSeconds`).
 */
export const WORKER_START_SECONDS = { fargate: 60, ec2: 180, ec2WarmPool: 60 } as const;

/** The target tracking half of the policy: keeps backlog per worker at the target. */
export interface TargetTrackingModel {
  /** Seconds after a scale-out before another scale-out may act on the same signal. */
  readonly scaleOutCooldownSeconds: number;
  /**
   * Scale-in is done by the spare-workers step policy, which counts in-flight messages as work;
   * target tracking only scales out.
   */
  readonly disableScaleIn: true;
}

/** A step scaling policy on one signal: an alarm (threshold, evaluation periods) and steps. */
export interface StepPolicyModel {
  readonly threshold: number;
  /** Periods the alarm evaluates (N of "M out of N"). */
  readonly evaluationPeriods: number;
  /**
   * Of those, how many must breach (M of "M out of N"; CloudWatch User Guide, "Evaluating an
   * alarm"). Below N, the newest datapoint may arrive half-filled without resetting the run.
   */
  readonly datapointsToAlarm: number;
  readonly adjustmentType: AdjustmentType;
  readonly steps: readonly ScalingStep[];
  readonly cooldownSeconds: number;
  /** With percentages: the least number of workers a step moves. */
  readonly minAdjustmentMagnitude?: number;
}

/**
 * The scale-in: steps that remove spare workers (`SPARE_WORKERS`, `>=` threshold), or, with
 * `keep`, exact capacities on the workers to keep (`WORKERS_TO_KEEP`, `<` threshold, `keepSteps`).
 */
export interface ScaleInModel extends StepPolicyModel {
  /** The exact scale-in's constants. @default - steps that remove spare workers */
  readonly keep?: KeepParams;
}

/** The idle rule: a step policy that sets the fleet to 0 once the queue has been empty long enough. */
export interface ScaleToZeroModel extends StepPolicyModel {
  readonly idleSeconds: number;
}

/**
 * The whole scaling policy of a fleet on a queue, as plain data. `BacklogScaling` turns it into
 * CloudFormation; the simulator executes it; the dashboard draws its target.
 */
export interface BacklogScalingModel {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  /** Acceptable backlog per worker (visible messages per running worker). */
  readonly targetBacklogPerWorker: number;
  /**
   * The mean processing time (s) the target was derived from, when the signals weigh the backlog
   * by the workers' measured time over it (`taskTimeFactor`).
   * @default - none: the backlog counts as it is
   */
  readonly processingTimeSeconds?: number;
  /**
   * The backlog per worker the policies hold: `HELD_BACKLOG_RATIO` x the acceptable one. Target
   * tracking's target value and every signal's constant.
   */
  readonly heldBacklogPerWorker: number;
  /**
   * Messages each worker processes at once: a busy worker holds this many in flight, so the
   * spare-workers signal counts inFlight / concurrency workers as busy.
   */
  readonly concurrency: number;
  /** Period of the datapoints every alarm and the target tracking policy evaluate. */
  readonly metricPeriodSeconds: number;
  /** How long a requested worker takes to start taking messages (`WORKER_START_SECONDS`). */
  readonly workerStartSeconds: number;
  /**
   * Whether every input of the signals arrives in one put (the backlog publisher's metrics); when
   * not, the signals fill a lagging fleet input with its previous value (see `SignalParams`).
   */
  readonly inputsArriveTogether: boolean;
  /** Target tracking on backlog per worker (scale-out, proportional). */
  readonly targetTracking: TargetTrackingModel;
  /** Step scaling on excess backlog (bursts, and 0 -> 1): alarm on `excessBacklog > threshold`. */
  readonly burst: StepPolicyModel;
  /**
   * The burst's last band behind an alarm of its own (`surgePolicy`), on periods shorter than a
   * minute with the default burst steps.
   * @default - none
   */
  readonly surge?: StepPolicyModel;
  /**
   * Step scaling on spare workers (scale-in that never counts busy workers as idle); with `keep`,
   * on the workers to keep, as exact capacities.
   */
  readonly scaleIn: ScaleInModel;
  /**
   * With the exact scale-in on a ladder of capacities up to its ratio apart (more than 20
   * workers): steps that remove a third of the workers above those to keep where no capacity of
   * the ladder lies between (`WORKERS_ABOVE_KEEP`, `>=` threshold 1; `trimSteps`).
   * @default - none
   */
  readonly trim?: StepPolicyModel;
  /**
   * Going to 0: ExactCapacity 0 when `queuedMessages` stays <= 0 for `idleSeconds` (an alarm
   * that fires below its threshold). Absent when minWorkers > 0.
   */
  readonly scaleToZero?: ScaleToZeroModel;
  /**
   * Extra signals (CPU, memory, per-worker metrics), each with a scale-out-only target tracking
   * policy; the spare-workers rule counts the workers they need (`lib/policy/utilization.ts`).
   * @default - none: backlog only
   */
  readonly utilization?: readonly UtilizationSignal[];
}

/** What a user may choose; everything else has a default. Times in seconds. */
export interface BacklogScalingInput {
  readonly minWorkers: number;
  readonly maxWorkers: number;
  readonly targetBacklogPerWorker: number;
  /**
   * The mean processing time (s) the target was derived from: the signals then weigh the backlog
   * by the workers' measured time over it (`taskTimeFactor`).
   * @default - none: the backlog counts as it is
   */
  readonly processingTimeSeconds?: number;
  /** Messages each worker processes at once. @default 1 */
  readonly concurrency?: number;
  readonly metricPeriodSeconds?: number;
  /** How long a requested worker takes to start taking messages. @default WORKER_START_SECONDS.fargate */
  readonly workerStartSeconds?: number;
  /**
   * Whether the fleet's step policies honour cooldowns: Application Auto Scaling's (ECS) do, EC2
   * Auto Scaling's take none, and the default scale-in steps are then smaller
   * (`scaleInActionsPerCount`). @default true
   */
  readonly stepCooldowns?: boolean;
  /** The signals' inputs come from the backlog publisher, in one put. @default false */
  readonly inputsArriveTogether?: boolean;
  readonly scaleOutCooldownSeconds?: number;
  readonly scaleInCooldownSeconds?: number;
  readonly burstSteps?: readonly ScalingStep[];
  readonly burstAdjustmentType?: AdjustmentType;
  readonly scaleInSteps?: readonly ScalingStep[];
  readonly scaleInEvaluationPeriods?: number;
  readonly scaleToZeroAfterSeconds?: number;
  /** Extra signals held below their targets (`utilizationSignals`). @default - none */
  readonly utilization?: readonly UtilizationSignal[];
}

/** The longest metric period on which the burst bands add their lower bound (`defaultBurstSteps`). */
export const BURST_LOWER_BOUND_MAX_PERIOD_SECONDS = 10;

/**
 * Default burst steps, derived from the fleet: bands of workers lacking, in powers of two.
 * The burst signal is the projected excess backlog E (visible + its growth over a worker's
 * start-up - held x desired), so n = E / held workers are lacking beyond those already
 * requested. A band adds its upper bound: +1 for n < 1, +2 for 1 <= n < 2, +4 for 2-4, ... and
 * the last band 2^K with 2^K >= maxWorkers (clamped to maxWorkers): one to two times what is
 * lacking. Bounds in messages are held x 2^(k-1). An earlier default added twice the upper bound
 * (two to four times what is lacking, whatever the trend) to make up for datapoints one to two
 * minutes old: on the suite's 500-worker fleet a noise blip took the fleet to maxWorkers, scale-in
 * took it back, and the cycle repeated every 10-15 minutes. The burst signal now projects the
 * backlog's growth instead (`EXCESS_BACKLOG`), large on a real onset and nothing on a blip that
 * has passed: the full suite went from 85 to 94 of 120 cells, EC2 still simulated under ECS
 * cooldowns (docs/simulation.md, fourth round). A 10,000-worker fleet gets 15 steps (AWS allows 20).
 *
 * On 10 s metrics (the publisher's default period) every band but the last adds its lower bound
 * instead, at most what is lacking (+1 for n < 2, +2 for 2-4, +4 for 4-8, ...). Adding up to twice
 * what is lacking makes up for one-minute datapoints, one to two minutes old, and for the two
 * periods until the burst looks again; at 10 s the next look is a minute away, on a count seconds
 * old, and adds what is still lacking then. The last band (half of maxWorkers lacking or more)
 * still takes the fleet to maxWorkers: an overload needs all of it at once. On the publisher's 60
 * cells this passed as many on seeds 1 and 2 (59 and 59) for 1.125x and 1.123x perfect
 * foresight's worker-minutes against 1.148x and 1.146x, one more at a 30 s latency goal (57) and
 * three more with datapoints read 60 s late (48); the held-out suite's publisher cells pass as
 * many (29 and 29 of 32), at 1.57-1.58x against 1.62-1.66x. The price is wait: the publisher
 * cells' p95 rises by 11 % (geometric mean), each still within its bound. Halving the last band
 * too lost the held-out overload's p95 on both seeds; halving every band at 30 s lost 4 of 60
 * cells (spikes and batch dumps past their p95 bounds), on one-minute metrics 11 of 60
 * (docs/simulation.md, twentieth round).
 */
export function defaultBurstSteps(maxWorkers: number, target: number, metricPeriodSeconds: number = AWS_SCALING_FACTS.sqsMetricPeriodSeconds): ScalingStep[] {
  const top = Math.max(0, Math.ceil(Math.log2(Math.max(1, maxWorkers))));
  const atMostLacking = metricPeriodSeconds <= BURST_LOWER_BOUND_MAX_PERIOD_SECONDS;
  const steps: ScalingStep[] = [];
  for (let k = 0; k <= top; k++) {
    const lower = k === 0 ? 0 : target * 2 ** (k - 1);
    const upper = k === top ? undefined : target * 2 ** k;
    const change = atMostLacking && k < top ? Math.max(1, 2 ** (k - 1)) : 2 ** k;
    steps.push({ lower, ...(upper === undefined ? {} : { upper }), change });
  }
  return steps;
}

/**
 * The surge policy: the burst's last band (half of maxWorkers lacking or more, which takes the
 * fleet to maxWorkers) as a second step policy, whose alarm's threshold is that band's lower
 * bound. An alarm that stays in ALARM invokes its action again only once a minute
 * (`AWS_SCALING_FACTS.alarmReinvokeSeconds`), so an overload that begins while the burst alarm is
 * already in ALARM, a spike on top of a ramp, waited up to a minute for the last band on 10 s
 * metrics; the surge alarm enters ALARM then and acts at once. On one-minute metrics each
 * evaluation is a re-invocation, so there is none. With the publisher on the random suite, seeds
 * 1-5, 299 of 300 cells passed against 296 (the spikes to 108 % on 100 and 500 EC2 workers: p95
 * 81 s -> 67 s and 77 s -> 56 s) for 0.5-1.1 % more worker-minutes; an alarm at the middle band
 * passed as many. The full suite's publisher cells passed the same 59 of 60 (seed 1) at 1.130x
 * perfect foresight's worker-minutes against 1.127x, their p95 22.6 s -> 19.0 s (geometric
 * means), and the held-out suite's as many as before; at 30 s as many or one more, for at most
 * 0.5 % more. Checked after the choice: as many or more at 30 s and 180 s latency goals and with
 * datapoints read 60 s late, and 180 of 180 on seeds 8-10 (docs/simulation.md, twenty-sixth
 * round). A user's own burst steps get none.
 */
export function surgePolicy(burst: StepPolicyModel, metricPeriodSeconds: number): StepPolicyModel | undefined {
  const last = burst.steps[burst.steps.length - 1];
  if (metricPeriodSeconds >= AWS_SCALING_FACTS.alarmReinvokeSeconds || burst.steps.length < 2 || last.lower === undefined) return undefined;
  return { ...burst, threshold: burst.threshold + last.lower, steps: [{ lower: 0, change: last.change }] };
}

/**
 * Default scale-in steps, derived from maxWorkers: spare workers S (threshold 1, so the bounds
 * are S - 1) in bands of powers of two. From 8 spare on, a step removes its band's lower bound,
 * more than half and never more than is spare (-8 for 8-15, -16 for 16-31, ... up to the largest
 * power of two <= maxWorkers), so 400 spare of 500 are gone in three or four actions (absolute
 * steps of -1/-3/-15, right for 20 workers, took half an hour). Below 8 a step removes half:
 * -1 for 1-3, -2 for 4-7, because a few spare workers are within the noise of a one-minute
 * snapshot of in-flight messages: removing all of them made the small fleet's steady load
 * oscillate (p95 wait 51 s against 37 s), while removing half everywhere cost the batch load
 * 3.5x perfect foresight's worker-minutes against 2.5x.
 *
 * With step cooldowns (ECS), from 16 spare on each power of two has two bands, split at 1.5x:
 * -16 for 16-23, -24 for 24-31, -32 for 32-47, ... (two thirds to all of the spare count, not
 * half to all), so the decay after a burst takes fewer 180 s cooldowns. On the suite's 60 Fargate
 * cells this passed 53, 53 and 52 on seeds 1, 2 and 3 against 52, 52 and 50, for 1.10x perfect
 * foresight's worker-minutes against 1.14x; splitting from 8 spare on failed the 20-worker fleet's
 * long tasks (docs/simulation.md, sixth round). Where the largest bands split would pass AWS's 20
 * steps (fleets of 4,096 workers and more), only the largest octaves are split.
 *
 * `actionsPerCount`: how many scale-in actions may read one spare count. Under a cooldown, one;
 * without (EC2 Auto Scaling's step policies take none, `scaleInActionsPerCount`), each step is
 * divided by it (at least -1), so that those actions together remove no more than was spare.
 * That was the EC2 default on one-minute metrics until the exact scale-in (`WORKERS_TO_KEEP`)
 * replaced it; these steps remain what `scaleInSteps` can choose.
 * There `stepCooldowns` is false (the default when a count is read by several actions) and the
 * bands are not split: the same split passed 46 of the 60 EC2 cells against 47 (a removal read
 * again by a second action compounds).
 */
export function defaultScaleInSteps(maxWorkers: number, actionsPerCount = 1, stepCooldowns = actionsPerCount === 1): ScalingStep[] {
  const top = Math.max(0, Math.floor(Math.log2(Math.max(1, maxWorkers))));
  const removing = (n: number) => -Math.max(1, Math.floor(n / actionsPerCount));
  // Octaves split in two: from 16 spare on, where the upper half is reachable, the largest first within AWS's 20 steps.
  const splittable = stepCooldowns ? range(4, top).filter((k) => 3 * 2 ** (k - 1) <= maxWorkers) : [];
  const split = new Set(splittable.slice(Math.max(0, splittable.length - (MAX_STEPS - (top + 1)))));
  const steps: ScalingStep[] = [];
  for (let k = 0; k <= top; k++) {
    const upper = k === top ? undefined : 2 ** (k + 1) - 1;
    if (split.has(k)) {
      const middle = 3 * 2 ** (k - 1);
      steps.push({ lower: 2 ** k - 1, upper: middle - 1, change: removing(2 ** k) });
      steps.push({ lower: middle - 1, ...(upper === undefined ? {} : { upper }), change: removing(middle) });
      continue;
    }
    steps.push({ lower: 2 ** k - 1, ...(upper === undefined ? {} : { upper }), change: removing(k < 3 ? Math.max(1, 2 ** (k - 1)) : 2 ** k) });
  }
  return steps;
}

/** The whole numbers from..to. */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/**
 * How many scale-in actions may read the same spare count when nothing paces them (no cooldown):
 * the alarm re-invokes its action once a minute while in ALARM, and a datapoint is read for up to
 * two periods after it starts (metric math: its minute and SQS's publication delay; the
 * publisher's: its period and one more). One-minute metrics: 3; the publisher's 30 s: 2; 10 s: 1.
 * On the suite's EC2 cells with metric math (sweep with the baselines' groups at a 180 s
 * warm-up), full steps passed 5 of 30 (the fleet fell below its need on the second and third
 * actions, then burst back), steps / 2 passed 14, / 3 passed 20 and / 4 passed 18; with the
 * publisher's 10 s metrics, full steps 26 of 30 and / 2, 24 (docs/simulation.md, fourth round).
 * Where it is above 1, the default scale-in sets exact capacities instead (`WORKERS_TO_KEEP`):
 * the same on every read, so nothing compounds (eighth round).
 */
export function scaleInActionsPerCount(metricPeriodSeconds: number): number {
  return 1 + Math.floor((2 * metricPeriodSeconds) / 60);
}

/**
 * The capacities an exact scale-in sets (`WORKERS_TO_KEEP`): every whole number up to maxWorkers
 * when AWS's 20 steps allow, else 1-8 and then a geometric ladder to maxWorkers in the 12 steps
 * left (ratio 1.24 for 100 workers, 1.41 for 500, 1.81 for 10,000): a capacity at most that ratio
 * above the workers to keep, which the next read brings down again as the need falls.
 */
export function keepCapacities(maxWorkers: number): { capacities: number[]; ratio: number } {
  const max = Math.max(1, Math.floor(maxWorkers));
  if (max <= MAX_STEPS) return { capacities: range(1, max), ratio: 1 };
  const whole = 8;
  const geometric = MAX_STEPS - whole;
  // Rounded up: the condition on the running count (keepExpression) needs no smaller a ratio than the ladder's.
  const ratio = Math.ceil(1000 * (max / whole) ** (1 / geometric)) / 1000;
  const capacities = range(1, whole);
  for (let j = 1; j <= geometric; j++) {
    const previous = capacities[capacities.length - 1];
    capacities.push(j === geometric ? max : Math.min(max, Math.max(previous + 1, Math.ceil(whole * ratio ** j))));
  }
  return { capacities, ratio };
}

/**
 * The exact scale-in's steps on the workers to keep, against the threshold maxWorkers (an alarm
 * that fires below it): a value in (c[j-1], c[j]] sets capacity c[j], the smallest capacity at or
 * above it (below a threshold, a step's lower bound is exclusive and its upper bound inclusive).
 */
export function keepSteps(maxWorkers: number): ScalingStep[] {
  const { capacities } = keepCapacities(maxWorkers);
  return capacities.map((c, j) => ({
    ...(j === 0 ? {} : { lower: capacities[j - 1] - maxWorkers }),
    upper: c - maxWorkers,
    change: c,
  }));
}

/**
 * The steps that trim the exact scale-in's remainder (`WORKERS_ABOVE_KEEP`): the spare-worker
 * bands of `defaultScaleInSteps`, each divided by the actions that may read one count, so that a
 * count read by all of them removes no more than is above the workers to keep. On the suite's 30
 * EC2 cells with one-minute metrics they took the geometric mean of worker-minutes / perfect
 * foresight's from 1.361x, 1.366x and 1.369x to 1.338x, 1.344x and 1.345x on seeds 1, 2 and 3,
 * with the same cells passing (26, 25, 23). Halves rather than thirds lost a cell on seed 1; a
 * lower headroom than the ladder's (1.0-1.2) was cheaper still, and 1.0 lost a cell on seed 2
 * (docs/simulation.md, tenth round).
 */
export function trimSteps(maxWorkers: number, actionsPerCount: number): ScalingStep[] {
  return defaultScaleInSteps(maxWorkers, actionsPerCount, false);
}

/**
 * The policies hold half the acceptable backlog per worker. Held at the acceptable backlog
 * itself, the backlog waits as long as the latency goal in steady state, and any reaction lag
 * (datapoints one to two minutes old, workers starting) pushes the p95 wait above the goal: on
 * the suite's small fleet with metric math, p95 75-112 s against a 60 s goal on steady, daily
 * wave, ramp and sinusoid loads. At half, 37-60 s, for 1-10 % more worker-minutes (the workers
 * the throughput needs are the same; only the queue in front of them is shorter). Swept on the
 * full suite, seeds 1 and 2 (cells passing of 120, worker-minutes / perfect foresight's): 0.35,
 * 109 and 108 at 1.19x and 1.18x; 0.5, 108 and 108 at 1.16x; 0.7, 104 and 101 at 1.14x and
 * 1.13x. The publisher's cells alone pass the same at 0.7 for 2 % less, but lose 4 of 48 with
 * datapoints 60 s late (docs/simulation.md, twenty-first round).
 */
export const HELD_BACKLOG_RATIO = 0.5;

export const DEFAULTS = {
  metricPeriodSeconds: AWS_SCALING_FACTS.sqsMetricPeriodSeconds,
  /**
   * Two minutes of datapoints, at least half of them with a spare worker, before scaling in
   * (`scaleInDatapoints`), not target tracking's 15 (AWS_SCALING_FACTS.targetTrackingScaleInDatapoints):
   * target tracking waits that long because its backlog metric can't tell idle workers from busy
   * ones; the spare-workers signal can, and keeps a standard deviation of in-flight noise as
   * headroom (`IN_FLIGHT_HEADROOM_SIGMAS`). On the quick suite, 3 minutes left the fleet at its
   * peak a minute longer after every burst: 30 of 40 cells passing, geometric mean 1.25x perfect
   * foresight's worker-minutes; 2 minutes, 31 and 1.14x (6 minutes, an earlier default, cost the
   * batch load 3.3-3.9x perfect foresight's worker-minutes).
   */
  scaleInAfterSeconds: 2 * 60,
  /**
   * Ten minutes of datapoints with no message queued (visible, in flight or delayed) before going
   * to 0. On the idle suite (`--suite idle`: runs every 10, 30 or 60 minutes, office hours, single
   * messages 5 or 20 minutes apart; small and medium fleets, both sources and computes), 15
   * minutes (the first default) passed 17 and 17 of 48 cells on seeds 1 and 2 at 4.48x and 4.41x
   * perfect foresight's worker-minutes; 10 minutes 17 and 18 at 4.27x and 4.21x, with the full
   * suite's 120 cells passing or failing as before on seeds 1-3. 5 minutes (KEDA's cooldownPeriod)
   * passed 20 and 20, cheaper, but failed three more cells on p95 wait (the fleet went to 0 within
   * every 8-minute gap and started cold after it) and lost the full suite's viral burst on 20
   * workers to KEDA (docs/simulation.md, ninth round).
   */
  scaleToZeroAfterSeconds: 10 * 60,
} as const;

/**
 * Default scale-out cooldown: two periods, at least 60 s. A scale-out reads a datapoint taken up
 * to one period plus the publication delay before (SQS's one-minute metrics: about two minutes;
 * the publisher's 10 s ones: seconds), and the desired count in it predates the action. For that
 * long AWS's cooldown rule (capacity added by the action that started the cooldown counts toward
 * the next) keeps a second invocation on the same stale datapoint from adding the workers again;
 * after it, the next action reads a count that includes them. 60 s (the old default) let the
 * burst fire twice on one excess with metric math.
 */
export function defaultScaleOutCooldownSeconds(metricPeriodSeconds: number): number {
  return Math.max(60, 2 * metricPeriodSeconds);
}

/**
 * Default scale-in cooldown: two periods plus 60 s (180 s on one-minute metrics, 80 s on the
 * publisher's 10 s ones). Not AWS's default 300 s: the spare-workers signal never counts a busy
 * worker as spare, so scaling in soon after a burst removes only idle capacity. The next scale-in
 * must read a datapoint taken after the last one took effect: the newest readable one is a period
 * plus the publication delay old, and it shows the smaller fleet one period after the action.
 * SQS's one-minute metrics take about 60 s to publish; CloudWatch gives no bound for
 * PutMetricData, so the publisher's delay is counted as 60 s too, though it is usually seconds.
 * With one-minute metrics, 180 s took the quick suite from 31 to 34 of 40 cells (240 s cost the
 * batch loads more than 3x perfect foresight's worker-minutes); 120 s passed 19 of the 30 Fargate
 * metric-math cells against 23 (the noisy loads oscillated). With the publisher, on its 30
 * Fargate cells (seed 1), cells passing and worker-minutes / perfect foresight's, for a
 * publication delay of 10 s / 30 s / 60 s: 180 s 30, 1.122x / 30, 1.147x / 25, 1.187x; 80 s 30,
 * 1.103x / 30, 1.134x / 24, 1.177x; 60 s 30, 1.089x / 30, 1.118x / 8, 1.79x: below a period plus
 * the delay, a scale-in reads the workers the last one removed and removes them again
 * (docs/simulation.md, fifteenth round). Only ECS honours it: EC2 Auto Scaling's step policies
 * take no cooldown.
 */
export function defaultScaleInCooldownSeconds(metricPeriodSeconds: number): number {
  return 2 * metricPeriodSeconds + AWS_SCALING_FACTS.metricPublicationDelaySeconds;
}

/**
 * How far ahead the burst signal projects the backlog's growth (`EXCESS_BACKLOG`): over a worker's
 * start-up, since the backlog grows until the new workers take messages, but no further than the
 * burst's next look at a count that includes them (`defaultScaleOutCooldownSeconds`: two periods,
 * at least a minute), which adds what is still lacking then. Projecting one period's growth
 * further counts its noise several times over: with the publisher's 10 s metrics on EC2, over the
 * instances' 180 s (18 periods), a blip on the 20-worker daily wave took the fleet to maxWorkers.
 * Fargate: 60 s on both sources (the start-up); EC2: 120 s on one-minute metrics, 60 s on the
 * publisher's 10 s ones. On the suite's 60 EC2 cells this passed 47 and 46 (seeds 1 and 2)
 * against 45 and 45 over the whole 180 s, for 1.24x perfect foresight's worker-minutes against
 * 1.32x; 60 s everywhere passed 45 and 45 at 1.22x (docs/simulation.md, fifth round).
 */
export function growthHorizonSeconds(workerStartSeconds: number, metricPeriodSeconds: number): number {
  return Math.min(workerStartSeconds, defaultScaleOutCooldownSeconds(metricPeriodSeconds));
}

/**
 * M of N for the runs that must hold throughout (scale to zero; the scale-in with extra signals):
 * one datapoint of slack, so that a newest datapoint read before all its inputs arrived does not
 * restart the run.
 */
export function slackDatapoints(evaluationPeriods: number): number {
  return Math.max(1, evaluationPeriods - 1);
}

/**
 * M of N for the backlog's scale-in (and its trim): a spare worker in at least half of the
 * window's datapoints. On one-minute metrics that is 1 of the 2 newest, the same as one datapoint
 * of slack (`slackDatapoints`). On the publisher's 10 s metrics it is 6 of 12, a spare worker in
 * a minute's worth of the two: all but one (11 of 12, the earlier default) asked twelve snapshots
 * of a noisy in-flight count to agree, and the fleet kept idle workers after each dump and spike.
 * On the publisher's 60 cells, seeds 1 and 2, 59 and 59 passed either way, at 1.148x and 1.146x
 * perfect foresight's worker-minutes against 1.217x and 1.213x (batch dumps 14-22 % cheaper); the
 * held-out and idle suites' publisher cells passed as many or more; at a 20 s latency goal, one
 * cell fewer on each seed, an EC2 daily wave that had passed by hundredths of a second
 * (docs/simulation.md, seventeenth round). The step is still the newest datapoint's: one that
 * shows no spare worker removes none. Extra signals keep all but one (`UTILIZATION_DEFAULTS`: a
 * CPU average is noisier).
 */
export function scaleInDatapoints(evaluationPeriods: number): number {
  return Math.max(1, Math.ceil(evaluationPeriods / 2));
}

/** Builds the policy model from the user's choices and the defaults. */
export function buildScalingModel(input: BacklogScalingInput): BacklogScalingModel {
  const period = input.metricPeriodSeconds ?? DEFAULTS.metricPeriodSeconds;
  // Extra signals (CPU, memory, per-worker metrics) are noisier than the backlog: they scale in
  // more slowly (UTILIZATION_DEFAULTS).
  const withUtilization = input.utilization !== undefined && input.utilization.length > 0;
  const scaleInDefaults = withUtilization
    ? { ...UTILIZATION_DEFAULTS, datapointsToAlarm: slackDatapoints }
    : { scaleInAfterSeconds: DEFAULTS.scaleInAfterSeconds, scaleInCooldownSeconds: defaultScaleInCooldownSeconds(period), datapointsToAlarm: scaleInDatapoints };
  const scaleInCooldown = input.scaleInCooldownSeconds ?? scaleInDefaults.scaleInCooldownSeconds;
  const scaleOutCooldown = input.scaleOutCooldownSeconds ?? defaultScaleOutCooldownSeconds(period);
  const scaleInPeriods = input.scaleInEvaluationPeriods ?? periodsFor(scaleInDefaults.scaleInAfterSeconds, period);
  const held = input.targetBacklogPerWorker * HELD_BACKLOG_RATIO;
  const cooldowns = input.stepCooldowns !== false;
  const actionsPerCount = cooldowns ? 1 : scaleInActionsPerCount(period);
  // Where several actions read one count, the default scale-in sets exact capacities (WORKERS_TO_KEEP).
  // The scale-in's alarm timing, which the trim shares.
  const scaleInTiming = { evaluationPeriods: scaleInPeriods, datapointsToAlarm: scaleInDefaults.datapointsToAlarm(scaleInPeriods), cooldownSeconds: scaleInCooldown };
  const keep = actionsPerCount > 1 && input.scaleInSteps === undefined
    ? { headroom: KEEP_HEADROOM, ratio: keepCapacities(input.maxWorkers).ratio, none: input.maxWorkers + 1 }
    : undefined;
  const burst: StepPolicyModel = {
    threshold: 0,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    adjustmentType: input.burstAdjustmentType ?? AdjustmentType.CHANGE_IN_CAPACITY,
    steps: input.burstSteps ?? defaultBurstSteps(input.maxWorkers, validTarget(held), period),
    cooldownSeconds: scaleOutCooldown,
    minAdjustmentMagnitude: 1,
  };
  const surge = input.burstSteps === undefined ? surgePolicy(burst, period) : undefined;
  return {
    minWorkers: input.minWorkers,
    maxWorkers: input.maxWorkers,
    targetBacklogPerWorker: input.targetBacklogPerWorker,
    ...(input.processingTimeSeconds !== undefined ? { processingTimeSeconds: input.processingTimeSeconds } : {}),
    heldBacklogPerWorker: held,
    concurrency: input.concurrency ?? 1,
    metricPeriodSeconds: period,
    workerStartSeconds: input.workerStartSeconds ?? WORKER_START_SECONDS.fargate,
    inputsArriveTogether: input.inputsArriveTogether ?? false,
    targetTracking: {
      scaleOutCooldownSeconds: scaleOutCooldown,
      disableScaleIn: true,
    },
    burst,
    ...(surge ? { surge } : {}),
    scaleIn: {
      ...scaleInTiming,
      threshold: keep ? input.maxWorkers : 1,
      adjustmentType: keep ? AdjustmentType.EXACT_CAPACITY : AdjustmentType.CHANGE_IN_CAPACITY,
      steps: keep ? keepSteps(input.maxWorkers) : input.scaleInSteps ?? defaultScaleInSteps(input.maxWorkers, actionsPerCount, cooldowns),
      ...(keep ? { keep } : {}),
    },
    ...(keep && keep.ratio > 1 ? {
      trim: { ...scaleInTiming, threshold: 1, adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: trimSteps(input.maxWorkers, actionsPerCount) },
    } : {}),
    scaleToZero: input.minWorkers === 0
      ? scaleToZeroModel(input.scaleToZeroAfterSeconds ?? DEFAULTS.scaleToZeroAfterSeconds, period, scaleInCooldown)
      : undefined,
    ...(withUtilization ? { utilization: input.utilization } : {}),
  };
}

function scaleToZeroModel(idleSeconds: number, periodSeconds: number, cooldownSeconds: number): ScaleToZeroModel {
  const evaluationPeriods = periodsFor(idleSeconds, periodSeconds);
  return {
    idleSeconds,
    threshold: 0,
    evaluationPeriods,
    datapointsToAlarm: slackDatapoints(evaluationPeriods),
    adjustmentType: AdjustmentType.EXACT_CAPACITY,
    // Fires below the threshold, so the upper bound 0 is inclusive: applies at queuedMessages <= 0.
    steps: [{ upper: 0, change: 0 }],
    cooldownSeconds,
  };
}

/** A target to derive default steps from; an invalid one is reported by validation, not by step errors it would cause. */
function validTarget(target: number): number {
  return Number.isFinite(target) && target > 0 ? target : 1;
}

/** The constants the model's signals are computed with: the backlog it holds, the workers' concurrency, how inputs arrive. */
export function signalParams(model: BacklogScalingModel): SignalParams {
  return {
    target: model.heldBacklogPerWorker,
    concurrency: model.concurrency,
    inputsArriveTogether: model.inputsArriveTogether,
    growthPeriods: growthHorizonSeconds(model.workerStartSeconds, model.metricPeriodSeconds) / model.metricPeriodSeconds,
    ...(model.scaleIn.keep ? { keep: model.scaleIn.keep } : {}),
    ...(model.processingTimeSeconds !== undefined ? { declaredProcessingTimeMs: model.processingTimeSeconds * 1000 } : {}),
  };
}

/** Evaluation periods that make `seconds` of consecutive datapoints (at least one). */
export function periodsFor(seconds: number, periodSeconds: number): number {
  return Math.max(1, Math.ceil(seconds / periodSeconds));
}

/** Every rule the model must satisfy; `prop` names are those of `BacklogScalingProps`. */
export function validateScalingModel(model: BacklogScalingModel): Violation[] {
  const out: Violation[] = [];
  out.push(...checkIntegerRange('minWorkers', model.minWorkers, 0, 10_000));
  out.push(...checkIntegerRange('maxWorkers', model.maxWorkers, 1, 10_000));
  if (Number.isInteger(model.minWorkers) && Number.isInteger(model.maxWorkers)) {
    out.push(...check(model.minWorkers <= model.maxWorkers, 'minWorkers', `<= maxWorkers (${model.maxWorkers})`, model.minWorkers));
  }
  out.push(...check(Number.isFinite(model.targetBacklogPerWorker) && model.targetBacklogPerWorker > 0,
    'target', '> 0 messages per worker', model.targetBacklogPerWorker));
  out.push(...check(model.processingTimeSeconds === undefined || (Number.isFinite(model.processingTimeSeconds) && model.processingTimeSeconds > 0),
    'processingTime', '> 0 seconds', `${model.processingTimeSeconds} seconds`));
  out.push(...checkIntegerRange('concurrency', model.concurrency, 1, 1000));
  out.push(...check(AWS_SCALING_FACTS.highResolutionPeriodsSeconds.includes(model.metricPeriodSeconds),
    'metricPeriod', 'one of 10, 30, 60 seconds', `${model.metricPeriodSeconds} seconds`));
  out.push(...checkRange('workerStartTime', model.workerStartSeconds, 0, 3600, ' seconds'));
  out.push(...checkRange('scaleOutCooldown', model.targetTracking.scaleOutCooldownSeconds, 0, 86_400, ' seconds'));
  out.push(...checkRange('scaleInCooldown', model.scaleIn.cooldownSeconds, 0, 86_400, ' seconds'));
  // CloudWatch evaluates at most one day of datapoints.
  out.push(...checkIntegerRange('scaleInEvaluationPeriods', model.scaleIn.evaluationPeriods, 1, Math.floor(86_400 / model.metricPeriodSeconds)));
  out.push(...validateSteps('burstSteps', model.burst.steps));
  // The alarm fires just above its threshold: a first step that starts higher leaves a gap where
  // it fires and nothing scales (a small backlog would never take the fleet from 0).
  for (const [prop, steps] of [['burstSteps', model.burst.steps], ['scaleInSteps', model.scaleIn.steps]] as const) {
    const lower = steps[0]?.lower;
    out.push(...check(lower === undefined || lower <= 0, `${prop}[0].lower`, '0 or unset (the first step starts where the alarm fires)', lower));
  }
  model.burst.steps.forEach((s, i) => out.push(...check(s.change > 0, `burstSteps[${i}].change`, '> 0 (burst steps add workers)', s.change)));
  out.push(...validateSteps('scaleInSteps', model.scaleIn.steps));
  // The exact scale-in's steps are derived, not chosen: they set capacities, they don't remove.
  if (!model.scaleIn.keep) model.scaleIn.steps.forEach((s, i) => {
    const spareAtLower = model.scaleIn.threshold + (s.lower ?? 0);
    out.push(...check(s.change < 0 && -s.change <= spareAtLower, `scaleInSteps[${i}].change`,
      `between -${spareAtLower} and -1 (no more than the spare workers at the step's lower bound)`, s.change));
  });
  if (model.scaleToZero) {
    // One evaluation period of CloudWatch alarms is at most one day (1,440 one-minute datapoints).
    out.push(...checkRange('scaleToZeroAfter', model.scaleToZero.idleSeconds, model.metricPeriodSeconds, 86_400, ' seconds'));
  }
  out.push(...validateUtilization(model.utilization ?? []));
  return out;
}
