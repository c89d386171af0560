/**
 * The worker loop: long-polls SQS, keeps `concurrency` handlers busy (a finished message frees its
 * slot at once), keeps a prefetch buffer, sized by the task time it measures, so the slots of fast
 * tasks never wait on a receive, heartbeats the visibility of every message it holds, batches
 * deletes and visibility changes, retries failures with backoff, and drains on SIGTERM/SIGINT,
 * `stop()` or an EC2 termination.
 */
import {
  ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient,
  type BatchResultErrorEntry, type Message,
} from '@aws-sdk/client-sqs';
import { Batcher, type EntryOutcome } from './batcher';
import { TypedEmitter } from './emitter';
import { AGENT_ENV, MIN_VISIBILITY_TIMEOUT_SECONDS, WORKER_DEFAULTS } from './contract';
import { AgentWorkerConfigError, DrainDeadlineError, HandlerTimeoutError, backoffMs, classifySqsError, withRequestTimeout, type SqsErrorKind } from './errors';
import { InstanceProtection } from './instance-protection';
import { leavesService, LifecycleWatcher } from './lifecycle';
import { NO_HANDLER_METRICS, WorkerMetrics } from './metrics';
import { resolveOptions, resolveVisibility, retryDelaySeconds, type AgentWorkerOptions, type ResolvedOptions } from './options';
import { prefetchFor, receiveSize, TaskTimeAverage } from './prefetch';
import { formatViolations } from '../policy/violation';
import { TaskProtection } from './task-protection';

/** Why a worker drains (`config`: the queue's visibility timeout does not fit the `heartbeatSeconds` option). */
export type StopReason = 'stop' | 'SIGTERM' | 'SIGINT' | 'lifecycle' | 'config';

/** Where a worker is in its life. */
export type WorkerState = 'created' | 'running' | 'draining' | 'stopped';

/**
 * Why a message was made visible again (`pause`: prefetched messages released when the worker
 * pauses after holding task protection for its limit).
 */
export type ReleaseReason = 'failure' | 'timeout' | 'drain' | 'pause';

/** The worker's events; subscribe with `worker.on(name, listener)`. */
export interface AgentWorkerEvents {
  /** The loop began polling. */
  started: () => void;
  /** A message arrived (it may wait in the prefetch buffer before its handler starts). */
  message_received: (e: { readonly message: Message }) => void;
  /** A handler resolved; the message's delete is queued. */
  message_processed: (e: { readonly message: Message; readonly durationMs: number }) => void;
  /** A handler threw or ran past its deadline; the message is released for a retry. */
  processing_error: (e: {
    readonly message: Message; readonly error: unknown; readonly durationMs: number;
    readonly timedOut: boolean; readonly retryDelaySeconds: number;
  }) => void;
  /** A message was made visible again. */
  message_released: (e: { readonly message: Message; readonly reason: ReleaseReason; readonly visibilityTimeout: number }) => void;
  /** A message could not be deleted (it will be delivered again). */
  delete_failed: (e: { readonly message: Message; readonly code?: string; readonly error?: unknown }) => void;
  /** An SQS call failed (it is retried). */
  sqs_error: (e: { readonly operation: string; readonly error: unknown; readonly kind: SqsErrorKind }) => void;
  /** The worker stopped receiving and is draining. */
  draining: (e: { readonly reason: StopReason }) => void;
  /** Scale-in protection (ECS task, or EC2 instance) was set or dropped. */
  protection_changed: (e: { readonly protected: boolean }) => void;
  /** The drain is over: nothing is in flight, deletes are flushed, everything is closed. */
  stopped: (e: { readonly reason: StopReason; readonly released: number }) => void;
}

interface Held {
  readonly message: Message;
  readonly receiptHandle: string;
  /** When the message's visibility was last set (its receive, or its last successful extension), performance.now(). */
  extendedAt: number;
  /** An extension is queued or being sent. */
  extending: boolean;
  /** Set while the handler runs. */
  controller?: AbortController;
  /** Ends the handler's race early (drain deadline). */
  abandon?: () => void;
  /** The message left our hands (deleted, or released). */
  done: boolean;
}

interface VisibilityEntry {
  readonly held: Held;
  readonly visibilityTimeout: number;
  readonly kind: 'heartbeat' | ReleaseReason;
}

/** Time requests may take before their signal aborts them (the long poll gets its wait on top). */
const REQUEST_TIMEOUT_MS = 15_000;

export class AgentWorker extends TypedEmitter<AgentWorkerEvents> {
  private readonly o: ResolvedOptions;
  private readonly sqs: SQSClient;
  private readonly ownsClient: boolean;
  /** Task times this worker measured, which bound its prefetch. */
  private readonly taskTimes = new TaskTimeAverage();
  private readonly held = new Set<Held>();
  private readonly buffer: Held[] = [];
  private active = 0;
  private _state: WorkerState = 'created';
  private pollController: AbortController | undefined;
  /** Visibility timeout of the queue (or the option), seconds: what each heartbeat extends to. Known once started. */
  private visibilitySeconds: number | undefined;
  private heartbeatMs = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  /** The VisibilityTimeout each receive sets; `undefined`: the queue's own. */
  private receiveVisibility: number | undefined;
  private loop: Promise<void> | undefined;
  private wakers = new Set<() => void>();
  private draining: Promise<void> | undefined;
  private released = 0;
  private readonly deletes: Batcher<Held>;
  private readonly visibility: Batcher<VisibilityEntry>;
  private readonly protection: TaskProtection | undefined;
  private readonly lifecycle: LifecycleWatcher | undefined;
  private readonly instanceProtection: InstanceProtection | undefined;
  private readonly metrics: WorkerMetrics | undefined;
  private readonly signalHandlers: Array<[NodeJS.Signals, () => void]> = [];

  constructor(options: AgentWorkerOptions) {
    super((event, error) => this.o.logger.error('event listener threw', { event, error }));
    this.o = resolveOptions(options);
    const o = this.o;
    this.ownsClient = !o.sqsClient;
    // The queue's region comes from its URL when the URL names one: a worker needs no AWS_REGION.
    this.sqs = o.sqsClient ?? new SQSClient(o.region ? { region: o.region } : {});
    this.visibilitySeconds = this.receiveVisibility = o.visibilityTimeoutSeconds;
    const batcher = { maxSize: 10, windowMs: o.batchWindowMs, maxAttempts: 6, retryBaseMs: o.sqsRetry.baseMs, retryMaxMs: 2000 };
    this.deletes = new Batcher<Held>({
      ...batcher,
      send: (entries) => this.sendDeletes(entries),
      onGiveUp: (held, why) => {
        this.o.logger.warn('message not deleted; it will be delivered again', { messageId: held.message.MessageId, ...why });
        this.emit('delete_failed', { message: held.message, ...why });
      },
      onCallError: (error) => this.reportSqsError('DeleteMessageBatch', error),
    });
    this.visibility = new Batcher<VisibilityEntry>({
      ...batcher,
      send: (entries) => this.sendVisibility(entries),
      onGiveUp: (e, why) => this.o.logger.warn(e.kind === 'heartbeat'
        ? 'visibility extension failed; the message may be delivered again while it is processed'
        : 'could not release the message; it reappears when its visibility timeout ends',
      { messageId: e.held.message.MessageId, kind: e.kind, ...why }),
      onCallError: (error) => this.reportSqsError('ChangeMessageVisibilityBatch', error),
    });
    if (o.taskProtection && o.ecsAgentUri) {
      this.protection = new TaskProtection({
        agentUri: o.ecsAgentUri,
        expiresInMinutes: o.taskProtectionMinutes,
        idleMs: o.taskProtectionIdleMs,
        logger: o.logger,
        onChange: (isProtected) => this.emit('protection_changed', { protected: isProtected }),
      });
    }
    if (o.lifecycleHookName && o.autoScalingGroupName) {
      this.lifecycle = new LifecycleWatcher({
        imdsEndpoint: o.imdsEndpoint,
        lifecycleHookName: o.lifecycleHookName,
        autoScalingGroupName: o.autoScalingGroupName,
        pollMs: o.lifecyclePollMs,
        logger: o.logger,
        autoScalingClient: o.autoScalingClient,
        env: options.env ?? process.env,
      });
    }
    if (o.instanceProtection && this.lifecycle) {
      const lifecycle = this.lifecycle;
      this.instanceProtection = new InstanceProtection({
        autoScalingGroupName: o.autoScalingGroupName!,
        target: () => lifecycle.target(),
        idleMs: o.taskProtectionIdleMs,
        logger: o.logger,
        onChange: (isProtected) => this.emit('protection_changed', { protected: isProtected }),
      });
    }
    if (o.metricsNamespace) {
      this.metrics = new WorkerMetrics({
        namespace: o.metricsNamespace,
        fleetName: o.fleetName,
        intervalMs: o.metricsIntervalMs,
        write: o.metricsWriter,
        inFlight: () => this.held.size,
        logger: o.logger,
      });
    }
  }

  /** Where the worker is in its life. */
  get state(): WorkerState {
    return this._state;
  }

  /** Messages held: being processed, or waiting in the prefetch buffer. */
  get inFlight(): number {
    return this.held.size;
  }

  /** Begins polling, and installs the SIGTERM/SIGINT drain unless `handleSignals` is false. */
  start(): void {
    if (this._state !== 'created') throw new Error(`AgentWorker: start() called when ${this._state}`);
    this._state = 'running';
    if (this.o.handleSignals) {
      for (const sig of ['SIGTERM', 'SIGINT'] as const) {
        const handler = (): void => this.onSignal(sig);
        process.on(sig, handler);
        this.signalHandlers.push([sig, handler]);
      }
    }
    this.o.logger.info('worker started', {
      queueUrl: this.o.queueUrl, concurrency: this.o.concurrency, prefetch: this.o.prefetch, prefetchSeconds: this.o.prefetchSeconds,
      visibilityTimeoutSeconds: this.o.visibilityTimeoutSeconds ?? 'the queue\'s', handlerTimeoutMs: this.o.handlerTimeoutMs,
      drainDeadlineMs: this.o.drainDeadlineMs, taskProtection: !!this.protection, lifecycleHook: this.o.lifecycleHookName,
    });
    this.loop = this.run().catch((error: unknown) => {
      this.o.logger.error('worker loop failed', { error });
    });
    this.emit('started');
  }

  /**
   * Stops receiving, lets in-flight handlers finish until the drain deadline, releases what is
   * left (and every prefetched message) for other workers, flushes deletes, closes everything.
   * Resolves when done; calling it again returns the same promise.
   */
  stop(): Promise<void> {
    return this.drain('stop');
  }

  private onSignal(sig: 'SIGTERM' | 'SIGINT'): void {
    if (this.draining) {
      this.o.logger.warn('signal received while draining; the drain continues', { signal: sig });
      return;
    }
    this.o.logger.info('signal received: draining', { signal: sig });
    void this.drain(sig).then(() => {
      if (this.o.exitAfterSignalDrain) process.exit(0);
    });
  }

  private drain(reason: StopReason): Promise<void> {
    if (!this.draining) this.draining = this.doDrain(reason).catch((error: unknown) => {
      this.o.logger.error('drain failed', { error });
    });
    return this.draining;
  }

  private async doDrain(reason: StopReason): Promise<void> {
    const wasRunning = this._state === 'running';
    this._state = 'draining';
    this.emit('draining', { reason });
    this.o.logger.info('draining', { reason, inFlight: this.active, prefetched: this.buffer.length });
    this.lifecycle?.close();
    // Prefetched messages go back at once, so another worker takes them now.
    for (const held of this.buffer.splice(0)) this.release(held, 0, 'drain');
    this.visibility.flush();
    this.wake();

    // A receive in progress is not aborted: SQS may have answered it already, and an aborted
    // answer's messages would stay invisible for the whole visibility timeout. It completes (at
    // once when messages arrive, after the long-poll wait when none do) and its messages are
    // released on arrival. Only at the drain deadline is it aborted, before SIGKILL would.
    let expired = false;
    const deadline = new Promise<'deadline'>((resolve) => {
      const t = setTimeout(() => { expired = true; resolve('deadline'); }, this.o.drainDeadlineMs);
      void Promise.all([this.loop, this.untilIdle()]).then(() => clearTimeout(t));
    });
    const loopDone = Promise.race([this.loop, deadline]).then(() => {
      if (expired && this.pollController) {
        this.o.logger.warn('drain deadline reached during a receive: aborting it (its messages reappear after the visibility timeout)');
        this.pollController.abort();
      }
    });
    if ((await Promise.race([Promise.all([this.untilIdle(), loopDone]), deadline])) === 'deadline') {
      const reasonError = new DrainDeadlineError(this.o.drainDeadlineMs / 1000);
      this.o.logger.warn('drain deadline reached: releasing messages still being processed', { count: this.active });
      for (const held of [...this.held]) {
        if (held.done || !held.controller) continue;
        held.controller.abort(reasonError);
        this.release(held, 0, 'drain');
        held.abandon?.();
      }
    }
    await loopDone;
    await this.loop;
    clearInterval(this.heartbeatTimer);
    await Promise.all([this.deletes.drain(), this.visibility.drain()]);
    await this.protection?.close();
    await this.instanceProtection?.close();
    if (reason === 'lifecycle' && this.lifecycle) await this.lifecycle.complete();
    await this.metrics?.close();
    for (const [sig, handler] of this.signalHandlers.splice(0)) process.off(sig, handler);
    if (this.ownsClient) this.sqs.destroy();
    this._state = 'stopped';
    if (wasRunning) this.o.logger.info('worker stopped', { reason, released: this.released });
    this.emit('stopped', { reason, released: this.released });
  }

  // ---- the receive loop -------------------------------------------------------------------

  private async run(): Promise<void> {
    if (this.lifecycle) {
      // A worker (re)started on an instance that is already leaving service must not take messages.
      if (leavesService(await this.lifecycle.readState())) {
        void this.drain('lifecycle');
        return;
      }
      this.lifecycle.watch(() => void this.drain('lifecycle'));
    }
    if (!(await this.startHeartbeats())) return;
    this.instanceProtection?.start();
    let failures = 0;
    while (this._state === 'running') {
      if (this.protection && this.protection.heldForMs() >= this.o.taskProtectionMinutes * 60_000) {
        await this.pauseForProtection();
        continue;
      }
      const capacity = this.o.concurrency + prefetchFor(this.o.prefetch, this.o.concurrency, this.o.prefetchSeconds, this.taskTimes.seconds);
      const size = receiveSize(this.active + this.buffer.length, capacity, this.o.concurrency, this.o.batchSize);
      if (size === 0) {
        await this.waitForWake();
        continue;
      }
      const controller = new AbortController();
      this.pollController = controller;
      const receivedAt = performance.now();
      const timer = setTimeout(() => controller.abort(), this.o.waitTimeSeconds * 1000 + REQUEST_TIMEOUT_MS);
      try {
        const out = await this.sqs.send(new ReceiveMessageCommand({
          QueueUrl: this.o.queueUrl,
          MaxNumberOfMessages: size,
          WaitTimeSeconds: this.o.waitTimeSeconds,
          // Only a configured visibility overrides the queue's own.
          VisibilityTimeout: this.receiveVisibility,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }), { abortSignal: controller.signal });
        failures = 0;
        this.accept(out.Messages ?? [], receivedAt);
      } catch (error) {
        if (this._state !== 'running') break;
        const kind = this.reportSqsError('ReceiveMessage', error);
        const delay = kind === 'transient' || kind === 'aborted'
          ? backoffMs(failures++, this.o.sqsRetry.baseMs, this.o.sqsRetry.maxMs)
          : this.o.sqsRetry.slowMs;
        await this.waitForWake(delay);
      } finally {
        clearTimeout(timer);
        this.pollController = undefined;
      }
    }
  }

  /**
   * Learns the visibility timeout (the option, else the queue's own) and starts the heartbeat.
   * Resolves false when the worker stopped meanwhile, or cannot run with the queue's timeout.
   */
  private async startHeartbeats(): Promise<boolean> {
    let failures = 0;
    while (this.visibilitySeconds === undefined) {
      if (this._state !== 'running') return false;
      try {
        const out = await withRequestTimeout(REQUEST_TIMEOUT_MS, (abortSignal) => this.sqs.send(new GetQueueAttributesCommand({
          QueueUrl: this.o.queueUrl, AttributeNames: ['VisibilityTimeout'],
        }), { abortSignal }));
        const seconds = Number(out.Attributes?.VisibilityTimeout);
        if (!Number.isInteger(seconds) || seconds < MIN_VISIBILITY_TIMEOUT_SECONDS) {
          // Too short for a heartbeat (0 or 1 s): every message would be delivered again while processed.
          this.o.logger.warn(`the queue's visibility timeout is too short for heartbeats; the worker sets ${WORKER_DEFAULTS.visibilityTimeoutSeconds} seconds on each receive`,
            { queueVisibilityTimeoutSeconds: out.Attributes?.VisibilityTimeout, visibilityTimeoutSeconds: WORKER_DEFAULTS.visibilityTimeoutSeconds });
          this.visibilitySeconds = WORKER_DEFAULTS.visibilityTimeoutSeconds;
          this.receiveVisibility = WORKER_DEFAULTS.visibilityTimeoutSeconds;
        } else {
          this.visibilitySeconds = seconds;
        }
      } catch (error) {
        if (this._state !== 'running') return false;
        const kind = this.reportSqsError('GetQueueAttributes', error);
        if (kind === 'credentials' || kind === 'fatal') {
          this.o.logger.error(`the worker reads the queue's visibility timeout at start: grant sqs:GetQueueAttributes on the queue, or set $${AGENT_ENV.visibilityTimeoutSeconds}`);
        }
        await this.waitForWake(kind === 'transient' || kind === 'aborted'
          ? backoffMs(failures++, this.o.sqsRetry.baseMs, this.o.sqsRetry.maxMs)
          : this.o.sqsRetry.slowMs);
      }
    }
    const { heartbeatMs, violations } = resolveVisibility(this.visibilitySeconds, this.o.heartbeatSeconds);
    if (violations.length > 0) {
      this.o.logger.error('worker configuration does not fit the queue; stopping', {
        error: new AgentWorkerConfigError(formatViolations('AgentWorker', violations)),
      });
      void this.drain('config');
      return false;
    }
    this.heartbeatMs = heartbeatMs;
    // One timer for all messages, so extensions that fall due together share a call. A tick every
    // half heartbeat extends each message last extended at least half a heartbeat ago: each is
    // extended every half to one heartbeat, never later.
    this.heartbeatTimer = setInterval(() => this.heartbeat(), heartbeatMs / 2);
    return true;
  }

  private heartbeat(): void {
    const now = performance.now();
    for (const held of this.held) {
      if (held.done || held.extending || now - held.extendedAt < this.heartbeatMs / 2) continue;
      held.extending = true;
      void this.visibility.add({ held, visibilityTimeout: this.visibilitySeconds!, kind: 'heartbeat' }).then((ok) => {
        held.extending = false;
        if (ok) held.extendedAt = now;
      });
    }
  }

  /**
   * Task protection held for its limit in one busy spell: take nothing new, finish what is held,
   * drop protection and stay idle for the pause, so that an ECS deployment (which waits for
   * protected tasks, as does scale-in) can replace this task; then resume.
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection.html
   */
  private async pauseForProtection(): Promise<void> {
    this.o.logger.info('task protection held for its limit: pausing so ECS may replace or scale in this task', {
      pauseSeconds: this.o.taskProtectionPauseMs / 1000, inFlight: this.active,
    });
    for (const held of this.buffer.splice(0)) this.release(held, 0, 'pause');
    while (this._state === 'running' && this.active > 0) await this.waitForWake();
    const until = performance.now() + this.o.taskProtectionIdleMs + this.o.taskProtectionPauseMs;
    while (this._state === 'running' && performance.now() < until) await this.waitForWake(until - performance.now());
  }

  private accept(messages: Message[], receivedAt: number): void {
    for (const message of messages) {
      if (!message.ReceiptHandle) {
        this.o.logger.error('message without a receipt handle ignored', { messageId: message.MessageId });
        continue;
      }
      const held: Held = { message, receiptHandle: message.ReceiptHandle, done: false, extendedAt: receivedAt, extending: false };
      this.held.add(held);
      if (this._state !== 'running') {
        this.release(held, 0, 'drain');
        continue;
      }
      this.emit('message_received', { message });
      this.buffer.push(held);
    }
    this.protection?.update(this.held.size);
    this.instanceProtection?.update(this.held.size);
    this.pump();
  }

  /** Starts buffered messages in free slots. */
  private pump(): void {
    while (this.active < this.o.concurrency && this.buffer.length > 0 && this._state === 'running') {
      void this.process(this.buffer.shift()!);
    }
  }

  // ---- one message ------------------------------------------------------------------------

  private async process(held: Held): Promise<void> {
    this.active++;
    const controller = new AbortController();
    held.controller = controller;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    type Outcome = { ok: true } | { ok: false; error: unknown; timedOut: boolean } | { abandoned: true };
    let outcome: Outcome;
    try {
      const work = (async () => this.o.handler(held.message, { signal: controller.signal, metrics: this.metrics ?? NO_HANDLER_METRICS }))();
      work.catch(() => undefined); // a handler that settles after its deadline must not raise an unhandled rejection
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), this.o.handlerTimeoutMs);
      });
      const abandoned = new Promise<'abandoned'>((resolve) => {
        held.abandon = () => resolve('abandoned');
      });
      const first = await Promise.race([work.then(() => 'done' as const), timeout, abandoned]);
      if (first === 'done') outcome = { ok: true };
      else if (first === 'abandoned') outcome = { abandoned: true };
      else {
        const error = new HandlerTimeoutError(this.o.handlerTimeoutMs / 1000);
        controller.abort(error);
        outcome = { ok: false, error, timedOut: true };
      }
    } catch (error) {
      outcome = { ok: false, error, timedOut: false };
    } finally {
      clearTimeout(timer);
      held.controller = undefined;
      held.abandon = undefined;
      this.active--;
    }
    const durationMs = performance.now() - started;
    if (!('abandoned' in outcome)) this.taskTimes.add(durationMs / 1000);
    if ('abandoned' in outcome || held.done) {
      // Released at the drain deadline; whatever the handler did is not acknowledged.
    } else if (outcome.ok) {
      this.finish(held);
      void this.deletes.add(held);
      this.metrics?.succeeded(durationMs);
      this.emit('message_processed', { message: held.message, durationMs });
    } else {
      const receives = Number(held.message.Attributes?.ApproximateReceiveCount ?? 1);
      const delay = retryDelaySeconds(receives, this.o.retryDelaySeconds, this.o.maxRetryDelaySeconds);
      this.o.logger.warn(outcome.timedOut ? 'handler timed out; message released for retry' : 'handler failed; message released for retry', {
        messageId: held.message.MessageId, receiveCount: receives, retryDelaySeconds: delay, durationMs: Math.round(durationMs), error: outcome.error,
      });
      this.release(held, delay, outcome.timedOut ? 'timeout' : 'failure');
      this.metrics?.failedOnce(durationMs, outcome.timedOut);
      this.emit('processing_error', { message: held.message, error: outcome.error, durationMs, timedOut: outcome.timedOut, retryDelaySeconds: delay });
    }
    this.pump();
    this.wake();
  }

  /** The message leaves our hands: no more heartbeats. */
  private finish(held: Held): void {
    held.done = true;
    this.held.delete(held);
    this.protection?.update(this.held.size);
    this.instanceProtection?.update(this.held.size);
  }

  private release(held: Held, visibilityTimeout: number, reason: ReleaseReason): void {
    if (held.done) return;
    this.finish(held);
    if (reason === 'drain') this.released++;
    void this.visibility.add({ held, visibilityTimeout, kind: reason });
    this.emit('message_released', { message: held.message, reason, visibilityTimeout });
  }

  // ---- batched calls ----------------------------------------------------------------------

  private async sendDeletes(entries: readonly Held[]): Promise<EntryOutcome[]> {
    const out = await withRequestTimeout(REQUEST_TIMEOUT_MS, (abortSignal) => this.sqs.send(new DeleteMessageBatchCommand({
      QueueUrl: this.o.queueUrl,
      Entries: entries.map((h, i) => ({ Id: String(i), ReceiptHandle: h.receiptHandle })),
    }), { abortSignal }));
    return outcomes(entries.length, out.Failed);
  }

  private async sendVisibility(entries: readonly VisibilityEntry[]): Promise<EntryOutcome[]> {
    // A heartbeat of a message that was released or deleted meanwhile must not be sent.
    const live = entries.map((e) => e.kind !== 'heartbeat' || !e.held.done);
    const sent = entries.filter((_, i) => live[i]);
    if (sent.length === 0) return entries.map(() => ({ ok: true }));
    const out = await withRequestTimeout(REQUEST_TIMEOUT_MS, (abortSignal) => this.sqs.send(new ChangeMessageVisibilityBatchCommand({
      QueueUrl: this.o.queueUrl,
      Entries: sent.map((e, i) => ({ Id: String(i), ReceiptHandle: e.held.receiptHandle, VisibilityTimeout: e.visibilityTimeout })),
    }), { abortSignal }));
    const results = outcomes(sent.length, out.Failed);
    let j = 0;
    return entries.map((_, i) => (live[i] ? results[j++] : { ok: true }));
  }

  // ---- helpers ----------------------------------------------------------------------------

  private reportSqsError(operation: string, error: unknown): SqsErrorKind {
    const kind = classifySqsError(error);
    if (kind === 'credentials') {
      this.o.logger.error('SQS refused the credentials; check the task or instance role. Retrying slowly', { operation, error });
    } else if (kind === 'fatal') {
      this.o.logger.error('SQS call failed; retrying slowly', { operation, error });
    } else {
      this.o.logger.warn('SQS call failed; retrying', { operation, kind, error });
    }
    this.emit('sqs_error', { operation, error, kind });
    return kind;
  }

  private untilIdle(): Promise<void> {
    return new Promise<void>((resolve) => {
      const check = (): void => {
        if (this.active === 0) resolve();
        else this.wakers.add(check);
      };
      check();
    });
  }

  /** Waits until something changes (a slot frees, a stop), or `ms` pass. */
  private waitForWake(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      this.wakers.add(done);
      if (ms !== undefined) timer = setTimeout(done, ms);
    });
  }

  private wake(): void {
    const wakers = [...this.wakers];
    this.wakers.clear();
    for (const w of wakers) w();
  }
}

function outcomes(count: number, failed: BatchResultErrorEntry[] | undefined): EntryOutcome[] {
  const result: EntryOutcome[] = Array.from({ length: count }, () => ({ ok: true }));
  for (const f of failed ?? []) {
    const i = Number(f.Id);
    if (Number.isInteger(i) && i >= 0 && i < count) result[i] = { ok: false, retry: !f.SenderFault, code: f.Code };
  }
  return result;
}
