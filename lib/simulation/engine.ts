/**
 * The discrete-time loop (one-second ticks, continuous time inside a tick for message starts and
 * completions): messages arrive (delayed, then visible), workers start after a delay, receive
 * into free slots and their prefetch buffer as `AgentWorker` does, process, delete; a controller
 * (alarms + policies, a fixed size, or perfect foresight) sets the desired capacity; removed
 * workers drain. Pure: the same inputs and seed give the same result.
 */
import type { RuleSample } from '../policy/rules';
import { RuleAutoscaler, transitionOf, type GroupTransitions, type ScalingEvent } from './autoscaler';
import { HpaAutoscaler } from './keda';
import { Datapoints, SampleLog } from './cloudwatch';
import type { SimulationParams } from './params';
import type { SimulationPolicy } from './policies';
import { Random } from './random';
import { percentile } from './stats';
import type { Messages } from './trace';
import { defaultPrefetch, prefetchFor, receiveSize, TaskTimeAverage } from '../worker/prefetch';
import { AWS_LIMITS } from '../worker/contract';

type WorkerState = 'starting' | 'running' | 'draining' | 'stopped';

interface Worker {
  readonly launchedAt: number;
  readonly readyAt: number;
  state: WorkerState;
  drainStartedAt: number;
  stoppedAt: number;
  /** Message index per slot, -1 when free. */
  readonly slot: Int32Array;
  /** How many slots hold a message. */
  busy: number;
  /** When each slot's message finishes; when free, since when it has been free. */
  readonly slotTime: Float64Array;
  /** Messages received ahead of a free slot (the worker's prefetch), in flight, oldest first. */
  readonly buffer: number[];
  /** Its tasks' times, which bound its prefetch. */
  readonly taskTimes: TaskTimeAverage;
}

/** One minute of a run, for the charts. */
export interface MinuteStats {
  readonly minute: number;
  /** Messages sent during the minute. */
  readonly arrivals: number;
  /** Visible messages at the end of the minute. */
  readonly backlog: number;
  /** Workers paid for at the end of the minute (starting, running, draining). */
  readonly workers: number;
  /** p95 wait of the messages sent during the minute (s); NaN when none was sent. */
  readonly waitP95: number;
  /** Average CPU of the running workers at the end of the minute (%); NaN when none runs. */
  readonly cpuUtilization: number;
}

/** What a run produces. */
export interface RunResult {
  readonly policy: string;
  readonly durationSeconds: number;
  readonly sent: number;
  readonly processed: number;
  /** Messages in the queue at the end, by state. */
  readonly visibleAtEnd: number;
  readonly inFlightAtEnd: number;
  readonly delayedAtEnd: number;
  /**
   * Per message: time it waited for a useful receive (s) = completion - visible - processing
   * time; for a message not finished at the end, a lower bound: end - visible (or 0 before it is visible).
   */
  readonly waits: Float64Array;
  /** Messages released by a worker whose drain deadline passed (received again later). */
  readonly released: number;
  /** Workers that scale-in removed while they held a message (they drain; none is lost). */
  readonly busyWorkersRemoved: number;
  readonly peakWorkers: number;
  /** Sum over workers of launch to stop (or the end of the run), in minutes. */
  readonly workerMinutes: number;
  readonly events: readonly ScalingEvent[];
  readonly timeline: readonly MinuteStats[];
}

/** Sets the desired capacity once a second. */
export interface Controller {
  decide(now: number, desired: number, view: FleetView): { desired: number; events: ScalingEvent[] };
}

/** What controllers may look at (the perfect-foresight bound reads the future from `messages`). */
export interface FleetView {
  readonly messages: Messages;
  /** Processing seconds still to do by the messages in flight. */
  readonly inFlightWork: number;
  /** Processing seconds of the visible messages. */
  readonly visibleWork: number;
  /** Message indices in the order they become visible... */
  readonly visibleOrder: Int32Array;
  /** ...and how many of them have. */
  readonly visibleCount: number;
  /** The workers in transition, as EC2 Auto Scaling counts a group's instances. */
  readonly group: GroupTransitions;
  /** The queue's and the fleet's counts now, as an API call (GetQueueAttributes) reads them. */
  readonly sample: RuleSample;
}

/** Progress callback: seconds simulated so far. */
export type Progress = (second: number) => void;

/** Runs one policy over the messages. */
export function simulate(messages: Messages, policy: SimulationPolicy, params: SimulationParams, durationSeconds: number, onProgress?: Progress): RunResult {
  const w = params.worker;
  const conc = w.concurrency;
  const maxPrefetch = w.prefetch ?? defaultPrefetch(conc);
  const held = (wk: Worker) => wk.buffer.length + wk.busy;
  // AgentWorker's receive rule, at its default batch (the most SQS returns).
  const receiveSizeOf = (wk: Worker) =>
    receiveSize(held(wk), conc + prefetchFor(maxPrefetch, conc, w.prefetchSeconds, wk.taskTimes.seconds), conc, AWS_LIMITS.maxReceiveBatch);
  const n = messages.count;
  const rng = new Random(params.seed + 7_777_777);
  const log = new SampleLog(durationSeconds);
  const datapoints = new Datapoints(log, params.cloudWatch, params.seed);
  const controller = makeController(policy, datapoints, params);

  // Messages by the time they become visible (stable: ties keep send order).
  const order = visibleOrder(messages);
  const queuedSince = new Float64Array(n);
  const waited = new Float64Array(n);
  const doneAt = new Float64Array(n).fill(NaN);
  const queue: number[] = [];
  let head = 0;
  let nextVisible = 0;
  let nextSent = 0;
  let processed = 0;
  let released = 0;
  let busyWorkersRemoved = 0;
  let visibleWork = 0;

  const workers: Worker[] = [];
  let stoppedWorkerSeconds = 0;
  const startupFor = (): number => (policy.kind === 'foresight' ? 0 : rng.uniform(w.startupSeconds.min, w.startupSeconds.max));
  const pool = warmPoolOf(policy, rng);
  const launch = (now: number, ready = false): void => {
    const warmStart = ready ? undefined : pool?.take(now);
    workers.push({
      launchedAt: now,
      readyAt: ready ? now : warmStart ?? now + startupFor(),
      state: ready ? 'running' : 'starting',
      drainStartedAt: NaN,
      stoppedAt: NaN,
      slot: new Int32Array(conc).fill(-1),
      busy: 0,
      slotTime: new Float64Array(conc).fill(now),
      buffer: [],
      taskTimes: new TaskTimeAverage(),
    });
  };
  let desired = policy.initialWorkers;
  for (let i = 0; i < desired; i++) launch(0, true);

  const events: ScalingEvent[] = [];
  const timeline: MinuteStats[] = [];
  let peakWorkers = desired;
  let lastActivity = 0;
  let sqsSilentUntil = -Infinity;
  let minuteArrivals = 0;

  for (let t = 0; t < durationSeconds; t++) {
    const tickEnd = t + 1;
    // Arrivals: sent in this tick; visible once their delay is over.
    while (nextSent < n && messages.sentAt[nextSent] < tickEnd) {
      if (messages.sentAt[nextSent] - lastActivity >= params.cloudWatch.sqsInactiveAfterSeconds) {
        sqsSilentUntil = messages.sentAt[nextSent] + params.cloudWatch.sqsWakeDelaySeconds;
      }
      nextSent++;
      minuteArrivals++;
    }
    while (nextVisible < n && messages.visibleAt[order[nextVisible]] < tickEnd) {
      const m = order[nextVisible++];
      queuedSince[m] = messages.visibleAt[m];
      queue.push(m);
      visibleWork += messages.processingSeconds[m];
    }

    // A receive returns as soon as a message is there: it takes a batch only of a backlog that
    // stood before this tick; the tick's arrivals reach the pollers one by one.
    const standing = () => head < queue.length && queuedSince[queue[head]] < t;
    const receiveInto = (wk: Worker, count: number) => {
      for (let k = 0; k < count && standing(); k++) {
        const m = queue[head++];
        visibleWork -= messages.processingSeconds[m];
        wk.buffer.push(m);
      }
    };
    let inFlight = 0;
    for (const wk of workers) {
      if (wk.state === 'stopped') continue;
      if (wk.state === 'starting' && wk.readyAt < tickEnd) wk.state = 'running';
      if (wk.state === 'starting') continue;
      for (let s = 0; s < conc; s++) {
        // Finish, then receive the next visible message at once (long polling returns as soon as one is there).
        for (;;) {
          const m = wk.slot[s];
          if (m >= 0) {
            if (wk.slotTime[s] >= tickEnd) break;
            doneAt[m] = wk.slotTime[s];
            wk.taskTimes.add(messages.processingSeconds[m]);
            log.completed(t, messages.processingSeconds[m]);
            processed++;
            wk.slot[s] = -1;
            wk.busy--;
          }
          if (wk.state === 'draining') break;
          let next = wk.buffer.shift();
          if (next === undefined) {
            if (head >= queue.length) break;
            // A slot with nothing to do receives: a message for it, and what a batch brings besides into the buffer.
            next = queue[head++];
            visibleWork -= messages.processingSeconds[next];
            receiveInto(wk, receiveSizeOf(wk) - 1);
          }
          const start = Math.max(wk.slotTime[s], queuedSince[next], wk.readyAt);
          waited[next] += start - queuedSince[next];
          wk.slot[s] = next;
          wk.busy++;
          wk.slotTime[s] = start + messages.processingSeconds[next];
        }
        if (wk.slot[s] < 0) wk.slotTime[s] = Math.max(wk.slotTime[s], t);
      }
      if (wk.state === 'draining') {
        // Prefetched messages go back at once (ChangeMessageVisibility 0).
        for (const m of wk.buffer.splice(0)) {
          queue.push(m);
          visibleWork += messages.processingSeconds[m];
        }
      } else {
        // Every slot busy: a full batch into the buffer when there is room for one.
        for (let size = receiveSizeOf(wk); size > 0 && standing(); size = receiveSizeOf(wk)) receiveInto(wk, size);
      }
      if (wk.state === 'draining') {
        if (wk.busy > 0 && t - wk.drainStartedAt >= w.drainDeadlineSeconds) {
          // Drain deadline: the worker releases what it still holds (ChangeMessageVisibility 0) and exits.
          for (let s = 0; s < conc; s++) {
            const m = wk.slot[s];
            if (m < 0) continue;
            const startedAt = wk.slotTime[s] - messages.processingSeconds[m];
            waited[m] += tickEnd - startedAt;
            queuedSince[m] = tickEnd;
            queue.push(m);
            visibleWork += messages.processingSeconds[m];
            wk.slot[s] = -1;
            wk.busy--;
            wk.slotTime[s] = tickEnd;
            released++;
          }
        }
        if (wk.busy === 0) {
          // It exits when its last message is done (or when it released the rest).
          wk.state = 'stopped';
          wk.stoppedAt = Math.min(tickEnd, Math.max(wk.drainStartedAt, ...wk.slotTime));
        }
      }
      inFlight += held(wk);
    }
    if (head > 4096 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }

    // Samples at the end of the tick.
    const visible = queue.length - head;
    const delayed = nextSent - nextVisible;
    if (visible + inFlight + delayed > 0) lastActivity = tickEnd;
    let running = 0;
    let busySlots = 0;
    let billed = 0;
    const group = { warming: 0, terminating: 0 };
    for (const wk of workers) {
      if (wk.state === 'stopped') continue;
      billed++;
      const transition = transitionOf(wk.state, tickEnd - wk.readyAt, w.instanceWarmupSeconds);
      if (transition) group[transition]++;
      if (wk.state === 'starting') continue;
      running++;
      busySlots += wk.busy;
    }
    const load = (idle: number, busy: number) => (running === 0 ? NaN : idle + ((busy - idle) * busySlots) / (running * conc));
    const cpu = load(w.idleCpuPercent, w.busyCpuPercent);
    const sample: RuleSample = { visible, inFlight, delayed, running, desired, cpuUtilization: cpu, memoryUtilization: load(w.idleMemoryPercent, w.busyMemoryPercent) };
    const silent = tickEnd < sqsSilentUntil || tickEnd - lastActivity >= params.cloudWatch.sqsInactiveAfterSeconds;
    log.record(t, sample, !silent);

    // Decide, then bring the fleet to the desired capacity.
    const decision = controller.decide(tickEnd, desired, {
      messages, visibleWork, visibleOrder: order, visibleCount: nextVisible, group, sample,
      // Only the bounds read it: summed when asked, over the workers as the tick left them.
      get inFlightWork() {
        return inFlightWorkOf(workers, messages, tickEnd);
      },
    });
    events.push(...decision.events);
    desired = decision.desired;
    busyWorkersRemoved += reconcile(workers, desired, tickEnd, launch);
    // Stopped workers leave the list (their time is counted now), so every loop walks live ones only.
    let live = 0;
    for (const wk of workers) {
      if (wk.state === 'stopped') {
        stoppedWorkerSeconds += wk.stoppedAt - wk.launchedAt;
        pool?.returned(wk.stoppedAt);
      } else {
        workers[live++] = wk;
      }
    }
    workers.length = live;
    if (pool) stoppedWorkerSeconds += pool.stoppedCost();
    peakWorkers = Math.max(peakWorkers, live);

    if (tickEnd % 60 === 0 || tickEnd === durationSeconds) {
      timeline.push({ minute: Math.ceil(tickEnd / 60) - 1, arrivals: minuteArrivals, backlog: visible, workers: billed, waitP95: NaN, cpuUtilization: cpu });
      minuteArrivals = 0;
    }
    if (onProgress && tickEnd % 600 === 0) onProgress(tickEnd);
  }

  const waits = new Float64Array(n);
  for (let m = 0; m < n; m++) {
    if (!Number.isNaN(doneAt[m])) waits[m] = waited[m];
    else waits[m] = Math.max(0, durationSeconds - messages.visibleAt[m]);
  }
  let workerSeconds = stoppedWorkerSeconds;
  for (const wk of workers) workerSeconds += durationSeconds - wk.launchedAt;
  let inFlightAtEnd = 0;
  for (const wk of workers) if (wk.state !== 'stopped') inFlightAtEnd += held(wk);

  return {
    policy: policy.name,
    durationSeconds,
    sent: nextSent,
    processed,
    visibleAtEnd: queue.length - head,
    inFlightAtEnd,
    delayedAtEnd: nextSent - nextVisible,
    waits,
    released,
    busyWorkersRemoved,
    peakWorkers,
    workerMinutes: workerSeconds / 60,
    events,
    timeline: withWaits(timeline, messages, waits),
  };
}

/** Processing seconds still to do by the messages the workers hold (in their slots or buffers) at `now`. */
function inFlightWorkOf(workers: readonly Worker[], messages: Messages, now: number): number {
  let work = 0;
  for (const wk of workers) {
    if (wk.state === 'stopped' || wk.state === 'starting') continue;
    for (let s = 0; s < wk.slot.length; s++) if (wk.slot[s] >= 0) work += Math.max(0, wk.slotTime[s] - now);
    for (const m of wk.buffer) work += messages.processingSeconds[m];
  }
  return work;
}

/**
 * A group's warm pool (`WarmPool`): when each stopped instance is (or will be) ready to start. It
 * holds maxPrepared less the workers at time 0, prepared before the run. `take` starts the
 * earliest one and gives when it takes messages (undefined when none is left: the instance
 * starts cold); `returned` puts back an instance that scale-in stopped once it had drained (reuse
 * on scale-in); `stoppedCost` is what the stopped ones cost per second. With maxPrepared =
 * maxWorkers, every start is warm.
 */
function warmPoolOf(policy: SimulationPolicy, rng: Random) {
  const spec = policy.warmPool;
  if (!spec) return undefined;
  const readyAt: number[] = Array.from({ length: Math.max(0, spec.maxPrepared - policy.initialWorkers) }, () => 0);
  return {
    take(now: number): number | undefined {
      if (readyAt.length === 0) return undefined;
      let first = 0;
      for (let i = 1; i < readyAt.length; i++) if (readyAt[i] < readyAt[first]) first = i;
      const [ready] = readyAt.splice(first, 1);
      return Math.max(now, ready) + rng.uniform(spec.startupSeconds.min, spec.startupSeconds.max);
    },
    returned(stoppedAt: number): void {
      readyAt.push(stoppedAt);
    },
    /** One second of the pool's stopped instances, in worker-seconds: their volumes' share of a running worker's price. */
    stoppedCost(): number {
      return readyAt.length * spec.stoppedCostRatio;
    },
  };
}

/** Each trace's visible order, sorted once for all the policies that run on it. */
const visibleOrders = new WeakMap<Messages, Int32Array>();

/** Message indices in the order they become visible (stable: ties keep send order); the identity without delays. */
function visibleOrder(messages: Messages): Int32Array {
  let order = visibleOrders.get(messages);
  if (order) return order;
  order = Int32Array.from({ length: messages.count }, (_, i) => i);
  const v = messages.visibleAt;
  for (let i = 1; i < messages.count; i++) {
    if (v[i] < v[i - 1]) {
      order.sort((a, b) => v[a] - v[b] || a - b);
      break;
    }
  }
  visibleOrders.set(messages, order);
  return order;
}

/** Adds each minute's p95 wait (of the messages sent in it) to the timeline. */
function withWaits(timeline: MinuteStats[], messages: Messages, waits: Float64Array): MinuteStats[] {
  const byMinute = new Map<number, number[]>();
  for (let m = 0; m < messages.count; m++) {
    const minute = Math.floor(messages.sentAt[m] / 60);
    let list = byMinute.get(minute);
    if (!list) byMinute.set(minute, (list = []));
    list.push(waits[m]);
  }
  return timeline.map((row) => {
    const list = byMinute.get(row.minute);
    // A typed array sorts numerically without a comparator: several times faster on long runs.
    return { ...row, waitP95: list ? percentile(new Float64Array(list).sort(), 0.95) : NaN };
  });
}

/**
 * Brings the number of live workers (starting or running) to `desired`. Removal order, like a
 * fleet whose busy workers hold scale-in protection: workers still starting (newest first), then
 * idle ones, then the least busy; a removed running worker drains. Returns how many of the
 * removed workers held a message.
 */
function reconcile(workers: Worker[], desired: number, now: number, launch: (now: number) => void): number {
  const live = workers.filter((wk) => wk.state === 'starting' || wk.state === 'running');
  for (let i = live.length; i < desired; i++) launch(now);
  let excess = live.length - desired;
  if (excess <= 0) return 0;
  const victims = live
    .map((wk, i) => ({ wk, i }))
    .sort((a, b) => {
      const rank = (wk: Worker) => (wk.state === 'starting' ? -1 : wk.busy);
      return rank(a.wk) - rank(b.wk) || b.i - a.i;
    });
  let busyRemoved = 0;
  for (const { wk } of victims) {
    if (excess-- <= 0) break;
    if (wk.state === 'starting') {
      wk.state = 'stopped';
      wk.stoppedAt = now;
    } else {
      if (wk.busy > 0) busyRemoved++;
      wk.state = 'draining';
      wk.drainStartedAt = now;
    }
  }
  return busyRemoved;
}

/** The controller a policy runs on. */
function makeController(policy: SimulationPolicy, datapoints: Datapoints, params: SimulationParams): Controller {
  switch (policy.kind) {
    case 'fixed':
      return { decide: (_now, desired) => ({ desired, events: [] }) };
    case 'foresight':
      return foresightController(policy.maxWorkers, policy.windowSeconds, params.worker.concurrency);
    case 'reactive-bound':
      return reactiveBoundController(policy, datapoints, params.worker.concurrency);
    case 'scaled-object': {
      const hpa = new HpaAutoscaler(policy.scaledObject);
      return { decide: (now, desired, view) => hpa.evaluate(now, desired, view.sample) };
    }
    default: {
      const scaler = new RuleAutoscaler(policy.rules, datapoints, {
        alarmReinvokeSeconds: params.cloudWatch.alarmReinvokeSeconds,
        ec2: params.worker.compute === 'ec2',
      });
      return { decide: (now, desired, view) => scaler.evaluate(now, desired, view.group) };
    }
  }
}

/**
 * The perfect-foresight bound: knows every future message and its processing time, starts
 * workers instantly, and keeps exactly the slots that the work in flight, the visible backlog
 * and the next `windowSeconds` of arrivals need: ceil(work / window / concurrency).
 */
function foresightController(maxWorkers: number, windowSeconds: number, concurrency: number): Controller {
  return {
    decide(now, desired, view) {
      const { messages } = view;
      let future = 0;
      for (let i = view.visibleCount; i < messages.count; i++) {
        const m = view.visibleOrder[i];
        if (messages.visibleAt[m] >= now + windowSeconds) break;
        future += messages.processingSeconds[m];
      }
      const next = Math.min(maxWorkers, workersFor(view.inFlightWork + view.visibleWork + future, windowSeconds, concurrency));
      return setTo(now, desired, next, 'foresight');
    },
  };
}

/** Workers that do `workSeconds` of processing within `windowSeconds`. */
function workersFor(workSeconds: number, windowSeconds: number, concurrency: number): number {
  return Math.max(0, Math.ceil(workSeconds / windowSeconds / concurrency - 1e-9));
}

/** A bound's decision: the new desired count, with an event when it changed. */
function setTo(now: number, desired: number, next: number, rule: string): { desired: number; events: ScalingEvent[] } {
  return { desired: next, events: next === desired ? [] : [{ time: now, rule, from: desired, to: next }] };
}

/**
 * The reactive bound (`reactiveBoundPolicy`): each second it records the exact need, as the
 * foresight bound counts work but with the last window's arrivals in place of the next's, and
 * sets the fleet to the largest need among the snapshots of the last `holdSeconds` up to the
 * newest readable datapoint's (the count sampled at the end of its period, as SQS's are).
 */
function reactiveBoundController(policy: Extract<SimulationPolicy, { kind: 'reactive-bound' }>, datapoints: Datapoints, concurrency: number): Controller {
  const { maxWorkers, periodSeconds: period, windowSeconds: window, holdSeconds } = policy;
  const needs: number[] = [];
  let seen = 0;
  let oldest = 0;
  let recentWork = 0;
  return {
    decide(now, desired, view) {
      const { messages, visibleOrder } = view;
      for (; seen < view.visibleCount; seen++) recentWork += messages.processingSeconds[visibleOrder[seen]];
      while (oldest < seen && messages.visibleAt[visibleOrder[oldest]] < now - window) recentWork -= messages.processingSeconds[visibleOrder[oldest++]];
      // The state at the end of second now - 1, the one the sample log holds for it.
      needs[now - 1] = workersFor(view.inFlightWork + view.visibleWork + recentWork, window, concurrency);
      const newest = (datapoints.latestReadable(period, now) + 1) * period - 1;
      if (newest < 0) return { desired, events: [] };
      let next = 0;
      for (let s = newest; s >= 0 && s >= newest - holdSeconds; s -= period) next = Math.max(next, needs[s]);
      return setTo(now, desired, Math.min(maxWorkers, next), 'reactive bound');
    },
  };
}
