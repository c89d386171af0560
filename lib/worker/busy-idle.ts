/**
 * Turns the in-flight count into a wanted protection state: wanted as soon as a message is in
 * flight, unwanted after `idleMs` with none (so a busy worker does not make a call per message).
 */
export class BusyIdle {
  private wanted = false;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly idleMs: number, private readonly onWanted: (on: boolean) => void) {}

  get isWanted(): boolean {
    return this.wanted;
  }

  /** Tells it how many messages are in flight. */
  update(inFlight: number): void {
    if (inFlight > 0) {
      this.cancelIdle();
      if (!this.wanted) this.set(true);
    } else if (this.wanted && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = undefined;
        this.set(false);
      }, this.idleMs);
      this.idleTimer.unref();
    }
  }

  /** Unwanted now, without waiting for the idle spell. */
  stop(): void {
    this.cancelIdle();
    this.wanted = false;
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
  }

  private set(on: boolean): void {
    this.wanted = on;
    this.onWanted(on);
  }
}
