/**
 * Batches SQS entry operations (DeleteMessageBatch, ChangeMessageVisibilityBatch): an entry waits
 * at most `windowMs` (or until 10 are queued), failed entries that SQS marks as not the sender's
 * fault, and whole calls that fail transiently, are retried with backoff.
 */
import { backoffMs, classifySqsError } from './errors';

/** What became of each entry of one call, in order: done, retry, or failed for good (with why). */
export type EntryOutcome = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly code?: string };

export interface BatcherOptions<T> {
  readonly maxSize: number;
  readonly windowMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** Sends one batch (at most `maxSize` entries); resolves with each entry's outcome. */
  readonly send: (entries: readonly T[]) => Promise<EntryOutcome[]>;
  /** Called once per entry that is given up on (after the last attempt, or a permanent failure). */
  readonly onGiveUp: (entry: T, reason: { code?: string; error?: unknown }) => void;
  /** Called for every failed call (before any retry). */
  readonly onCallError: (error: unknown) => void;
}

interface Pending<T> {
  readonly entry: T;
  readonly done: (ok: boolean) => void;
}

export class Batcher<T> {
  private queue: Pending<T>[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: BatcherOptions<T>) {}

  /** Queues an entry; resolves `true` when SQS accepted it, `false` when it was given up on. */
  add(entry: T): Promise<boolean> {
    return new Promise<boolean>((done) => {
      this.queue.push({ entry, done });
      if (this.queue.length >= this.options.maxSize) this.flush();
      else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.options.windowMs);
    });
  }

  /** Entries queued or being sent. */
  get size(): number {
    return this.queue.length + this.running.size;
  }

  /** Sends everything queued now. */
  flush(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxSize);
      const task = this.sendWithRetry(batch).finally(() => this.running.delete(task));
      this.running.add(task);
    }
  }

  /** Flushes and waits until every entry is settled (retries included). */
  async drain(): Promise<void> {
    this.flush();
    while (this.running.size > 0 || this.queue.length > 0) {
      await Promise.all([...this.running]);
      this.flush();
    }
  }

  private async sendWithRetry(batch: Pending<T>[]): Promise<void> {
    let todo = batch;
    for (let attempt = 0; todo.length > 0; attempt++) {
      const last = attempt + 1 >= this.options.maxAttempts;
      const retry: Pending<T>[] = [];
      try {
        const outcomes = await this.options.send(todo.map((p) => p.entry));
        todo.forEach((p, i) => {
          const o = outcomes[i] ?? { ok: false, retry: true, code: 'NoResult' };
          if (o.ok) p.done(true);
          else if (o.retry && !last) retry.push(p);
          else {
            this.options.onGiveUp(p.entry, { code: o.code });
            p.done(false);
          }
        });
      } catch (error) {
        this.options.onCallError(error);
        const kind = classifySqsError(error);
        if (kind === 'transient' && !last) retry.push(...todo);
        else {
          for (const p of todo) {
            this.options.onGiveUp(p.entry, { error });
            p.done(false);
          }
        }
      }
      todo = retry;
      if (todo.length > 0) await sleep(backoffMs(attempt, this.options.retryBaseMs, this.options.retryMaxMs));
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
