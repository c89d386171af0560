/**
 * EC2: watches the instance's target lifecycle state through IMDSv2
 * (`/latest/meta-data/autoscaling/target-lifecycle-state`, see
 * https://docs.aws.amazon.com/autoscaling/ec2/userguide/retrieving-target-lifecycle-state-through-imds.html)
 * and, once the instance leaves service (`leavesService`), lets the worker drain and then
 * completes the termination lifecycle action (`autoscaling:CompleteLifecycleAction`, result
 * CONTINUE). Everything is a no-op when IMDS does not answer (not on EC2).
 */
import { AutoScalingClient, CompleteLifecycleActionCommand } from '@aws-sdk/client-auto-scaling';
import { httpRequest, joinUrl } from './http';
import type { InstanceTarget } from './instance-protection';
import type { WorkerLogger } from './logger';

export interface LifecycleWatcherOptions {
  readonly imdsEndpoint: string;
  readonly lifecycleHookName: string;
  readonly autoScalingGroupName: string;
  readonly pollMs: number;
  readonly logger: WorkerLogger;
  readonly autoScalingClient?: AutoScalingClient;
  readonly env: Readonly<Record<string, string | undefined>>;
}

const TOKEN_TTL_SECONDS = 21600;

/**
 * Whether a target lifecycle state takes the instance out of service: `Terminated`, or a
 * `Warmed:*` state, where scale-in returns the instance to the group's warm pool (its termination
 * hook then holds it in Warmed:Pending:Wait; EC2 Auto Scaling User Guide, "Use lifecycle hooks
 * with a warm pool").
 */
export function leavesService(state: string | undefined): boolean {
  return state === 'Terminated' || (state?.startsWith('Warmed:') ?? false);
}

export class LifecycleWatcher {
  private token: { value: string; expires: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private warnedUnreachable = false;

  constructor(private readonly options: LifecycleWatcherOptions) {}

  /** Polls until the instance leaves service, then calls `onTerminating` once. */
  watch(onTerminating: () => void): void {
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      const state = await this.readState();
      if (this.stopped) return;
      if (leavesService(state)) {
        this.options.logger.info('instance is leaving service: draining', { targetLifecycleState: state });
        onTerminating();
        return;
      }
      this.timer = setTimeout(() => void tick(), this.options.pollMs);
      this.timer.unref();
    };
    void tick();
  }

  /** The target lifecycle state, or `undefined` when IMDS does not answer. */
  async readState(): Promise<string | undefined> {
    try {
      const body = await this.metadata('autoscaling/target-lifecycle-state');
      this.warnedUnreachable = false;
      return body?.trim();
    } catch (error) {
      if (!this.warnedUnreachable) {
        this.options.logger.warn('instance metadata not reachable; lifecycle watch keeps trying', { error });
        this.warnedUnreachable = true;
      }
      return undefined;
    }
  }

  /** This instance and an Auto Scaling client (the given one, or one made for its region). */
  async target(): Promise<InstanceTarget> {
    const instanceId = (await this.metadata('instance-id'))?.trim();
    if (!instanceId) throw new Error('instance id not found in instance metadata');
    if (this.options.autoScalingClient) return { client: this.options.autoScalingClient, instanceId, release: () => undefined };
    const region = this.options.env.AWS_REGION ?? this.options.env.AWS_DEFAULT_REGION
      ?? (await this.metadata('placement/region'))?.trim();
    const client = new AutoScalingClient(region ? { region } : {});
    return { client, instanceId, release: () => client.destroy() };
  }

  /** Completes the lifecycle action with CONTINUE; failures are logged. */
  async complete(): Promise<boolean> {
    const { lifecycleHookName, autoScalingGroupName, logger } = this.options;
    let target: InstanceTarget | undefined;
    try {
      target = await this.target();
      const { client, instanceId } = target;
      await client.send(new CompleteLifecycleActionCommand({
        AutoScalingGroupName: autoScalingGroupName,
        LifecycleHookName: lifecycleHookName,
        InstanceId: instanceId,
        LifecycleActionResult: 'CONTINUE',
      }), { abortSignal: AbortSignal.timeout(10_000) });
      logger.info('lifecycle action completed', { lifecycleHookName, autoScalingGroupName, instanceId });
      return true;
    } catch (error) {
      logger.error('could not complete the lifecycle action; the hook will time out instead', { lifecycleHookName, error });
      return false;
    } finally {
      target?.release();
    }
  }

  close(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async metadata(path: string): Promise<string | undefined> {
    const token = await this.getToken();
    const res = await httpRequest(joinUrl(this.options.imdsEndpoint, `latest/meta-data/${path}`), {
      headers: { 'x-aws-ec2-metadata-token': token },
    });
    if (res.status === 401) this.token = undefined;
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw new Error(`IMDS ${path}: HTTP ${res.status}`);
    return res.body;
  }

  private async getToken(): Promise<string> {
    if (this.token && this.token.expires > Date.now()) return this.token.value;
    const res = await httpRequest(joinUrl(this.options.imdsEndpoint, 'latest/api/token'), {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) },
    });
    if (res.status !== 200) throw new Error(`IMDS token: HTTP ${res.status}`);
    this.token = { value: res.body, expires: Date.now() + (TOKEN_TTL_SECONDS - 60) * 1000 };
    return res.body;
  }
}
