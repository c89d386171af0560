/**
 * ECS task scale-in protection: held while any message is in flight, renewed before it expires,
 * dropped after an idle spell. Calls go to the ECS agent:
 * `PUT $ECS_AGENT_URI/task-protection/v1/state` with `{"ProtectionEnabled":true,"ExpiresInMinutes":n}`
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-scale-in-protection-endpoint.html).
 * Calls are serialized; only the latest wanted state is sent.
 */
import { httpRequest, joinUrl } from './http';
import type { WorkerLogger } from './logger';

export interface TaskProtectionOptions {
  readonly agentUri: string;
  readonly expiresInMinutes: number;
  readonly idleMs: number;
  readonly logger: WorkerLogger;
  readonly onChange: (isProtected: boolean) => void;
}

export class TaskProtection {
  private wanted = false;
  private held = false;
  private heldSince = 0;
  /** When protection was last switched on (renewals do not reset it). */
  private protectedSince = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(private readonly options: TaskProtectionOptions) {}

  /** How long protection has been held without a break, ms (0 when not held). */
  heldForMs(): number {
    return this.held ? Date.now() - this.protectedSince : 0;
  }

  /** Tells the protection how many messages are in flight. */
  update(inFlight: number): void {
    if (this.closed) return;
    if (inFlight > 0) {
      if (this.idleTimer) {
        clearTimeout(this.idleTimer);
        this.idleTimer = undefined;
      }
      if (!this.wanted) this.want(true);
    } else if (this.wanted && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        this.want(false);
      }, this.options.idleMs);
      this.idleTimer.unref();
    }
  }

  /** Drops the protection (if held) and stops every timer. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.idleTimer = this.renewTimer = undefined;
    this.wanted = false;
    this.enqueue();
    await this.chain;
  }

  private want(on: boolean): void {
    this.wanted = on;
    this.enqueue();
  }

  private enqueue(): void {
    this.chain = this.chain.then(() => this.sync());
  }

  private async sync(): Promise<void> {
    const on = this.wanted;
    const renewDue = on && this.held && Date.now() - this.heldSince >= this.renewAfterMs();
    if (on === this.held && !renewDue) return;
    const body = on
      ? JSON.stringify({ ProtectionEnabled: true, ExpiresInMinutes: this.options.expiresInMinutes })
      : JSON.stringify({ ProtectionEnabled: false });
    try {
      const res = await httpRequest(joinUrl(this.options.agentUri, 'task-protection/v1/state'), { method: 'PUT', body });
      const parsed = safeJson(res.body) as { failure?: unknown; error?: unknown } | undefined;
      if (res.status < 200 || res.status >= 300 || parsed?.failure || parsed?.error) {
        this.options.logger.warn('task protection call failed', { protectionEnabled: on, status: res.status, response: res.body });
        return;
      }
      const changed = this.held !== on;
      this.held = on;
      this.heldSince = Date.now();
      if (changed && on) this.protectedSince = this.heldSince;
      if (changed) this.options.onChange(on);
      this.options.logger.debug('task protection set', { protectionEnabled: on, expiresInMinutes: on ? this.options.expiresInMinutes : undefined });
    } catch (error) {
      this.options.logger.warn('task protection call failed', { protectionEnabled: on, error });
    } finally {
      this.scheduleRenewal();
    }
  }

  /** Renew at half the expiry, so a busy task never loses its protection. */
  private renewAfterMs(): number {
    return (this.options.expiresInMinutes * 60_000) / 2;
  }

  private scheduleRenewal(): void {
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.renewTimer = undefined;
    if (this.closed || !this.wanted) return;
    // Retry soon after a failure, else renew at half the expiry.
    const delay = this.held ? this.renewAfterMs() : 5_000;
    this.renewTimer = setTimeout(() => {
      this.renewTimer = undefined;
      this.enqueue();
    }, delay);
    this.renewTimer.unref();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
