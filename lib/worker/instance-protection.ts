/**
 * EC2 instance scale-in protection, the EC2 counterpart of ECS task protection: the worker
 * protects its own instance while any message is in flight and drops the protection after an
 * idle spell, with `autoscaling:SetInstanceProtection` (EC2 Auto Scaling User Guide, "Use
 * instance scale-in protection": a protected instance is not chosen for scale-in; protection
 * does not stop health replacement, Spot interruptions or a manual termination, which the
 * termination hook drains). Protection has no expiry, so the worker also drops it when it starts
 * (a worker that crashed while busy leaves none behind), when it stops, and again every 5 minutes
 * while idle (the group protects a new instance only once it is InService, after the worker has
 * started; `newInstancesProtectedFromScaleIn` thus lasts at most 5 idle minutes).
 * Calls are serialized; only the latest wanted state is sent; a failed call is retried.
 */
import { SetInstanceProtectionCommand, type AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { BusyIdle } from './busy-idle';
import type { WorkerLogger } from './logger';

/** The instance and a client to reach its group with. */
export interface InstanceTarget {
  readonly client: AutoScalingClient;
  readonly instanceId: string;
  /** Frees the client when the target owns it. */
  release(): void;
}

export interface InstanceProtectionOptions {
  readonly autoScalingGroupName: string;
  /** Resolves the instance (from instance metadata) and a client; throws when it cannot. */
  readonly target: () => Promise<InstanceTarget>;
  readonly idleMs: number;
  readonly logger: WorkerLogger;
  readonly onChange: (isProtected: boolean) => void;
}

const RETRY_MS = 5_000;
/** How often an idle worker drops the protection again, whoever set it. */
export const IDLE_REFRESH_MS = 5 * 60_000;

export class InstanceProtection {
  private readonly busy: BusyIdle;
  /** What the group holds, as far as we know; unknown until the first call succeeds. */
  private held: boolean | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: InstanceProtectionOptions) {
    this.busy = new BusyIdle(options.idleMs, () => this.enqueue());
  }

  /** Drops any protection a previous worker on this instance left behind. */
  start(): void {
    this.enqueue();
  }

  /** Tells the protection how many messages are in flight. */
  update(inFlight: number): void {
    if (!this.closed) this.busy.update(inFlight);
  }

  /** Drops the protection (if held) and stops every timer. */
  async close(): Promise<void> {
    this.closed = true;
    this.busy.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.retryTimer = this.refreshTimer = undefined;
    this.enqueue();
    await this.chain;
  }

  private enqueue(): void {
    this.chain = this.chain.then(() => this.sync());
  }

  private async sync(): Promise<void> {
    const on = this.busy.isWanted;
    if (on === this.held) return;
    let target: InstanceTarget | undefined;
    try {
      target = await this.options.target();
      await target.client.send(new SetInstanceProtectionCommand({
        AutoScalingGroupName: this.options.autoScalingGroupName,
        InstanceIds: [target.instanceId],
        ProtectedFromScaleIn: on,
      }), { abortSignal: AbortSignal.timeout(10_000) });
      const changed = this.held !== undefined && this.held !== on;
      this.held = on;
      if (changed || on) this.options.onChange(on);
      this.options.logger.debug('instance protection set', { protectedFromScaleIn: on, instanceId: target.instanceId });
      if (!on) this.scheduleIdleRefresh();
    } catch (error) {
      this.options.logger.warn('instance protection call failed', { protectedFromScaleIn: on, error });
      this.scheduleRetry();
    } finally {
      target?.release();
    }
  }

  private scheduleIdleRefresh(): void {
    if (this.refreshTimer || this.closed) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.busy.isWanted || this.closed) return;
      this.held = undefined;
      this.enqueue();
    }, IDLE_REFRESH_MS);
    this.refreshTimer.unref();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.enqueue();
    }, RETRY_MS);
    this.retryTimer.unref();
  }
}
