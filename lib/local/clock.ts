/** Simulated time on a wall clock: `speed` simulated seconds per real second from `start()`. */
export class SimClock {
  private t0 = NaN;

  constructor(readonly speed: number) {}

  start(): void {
    this.t0 = Date.now();
  }

  /** Simulated seconds since the start. */
  now(): number {
    return this.toSim(Date.now());
  }

  /** A wall-clock time (Date.now() ms) as simulated seconds. */
  toSim(wallMs: number): number {
    return ((wallMs - this.t0) * this.speed) / 1000;
  }

  /** A span of real milliseconds as simulated seconds. */
  simSeconds(realMs: number): number {
    return (realMs * this.speed) / 1000;
  }

  /** Real milliseconds of a span of simulated seconds. */
  realMs(simSeconds: number): number {
    return (simSeconds * 1000) / this.speed;
  }

  /** Resolves at simulated second `t` (at once when it has passed). */
  until(t: number): Promise<void> {
    const wait = this.t0 + this.realMs(t) - Date.now();
    return wait <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, wait));
  }
}
