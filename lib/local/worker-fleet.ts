/**
 * The fleet of real worker processes, kept the way ECS keeps a service at its desired count:
 * launching a worker takes a parked process (Node and the handler already loaded, because booting
 * Node takes up to a second here, i.e. up to a minute of simulated time), waits the compute's
 * start-up delay, then starts its AgentWorker; removing one follows the simulator's order —
 * workers still starting first (they go back to the pool), then idle ones, then the least busy —
 * and sends SIGTERM, after which the worker drains and exits by itself.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { transitionOf, type GroupTransitions } from '../simulation/autoscaler';
import type { Random } from '../simulation/random';
import type { SimClock } from './clock';
import { WORKER_MODULE_ENV, type StartMessage, type WorkerReport } from './worker-process';

type State = 'starting' | 'running' | 'draining' | 'stopped';

/** One launched worker, in simulated seconds. */
export interface LiveWorker {
  readonly launchedAt: number;
  readonly readyAt: number;
  state: State;
  stoppedAt: number;
  inFlight: number;
  proc: Parked;
}

interface Parked {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  exited: boolean;
}

export interface WorkerFleetOptions {
  /** The handler module each worker loads. */
  readonly workerModule: string;
  /** Environment of every worker (the fleet contract's variables, the local endpoint). */
  readonly env: Record<string, string>;
  readonly startOptions: StartMessage['options'];
  /** Start-up delay range of the compute, simulated seconds. */
  readonly startupSeconds: { readonly min: number; readonly max: number };
  /** Processes kept parked: the most the fleet can launch at once. */
  readonly poolSize: number;
  /** SIGKILL a draining worker this long (real ms) after SIGTERM, as ECS does after stopTimeout. */
  readonly killAfterMs: number;
  /** Where the workers' stdout and stderr go. */
  readonly logFile: string;
  readonly clock: SimClock;
  readonly rng: Random;
  readonly onProcessed: (r: Extract<WorkerReport, { type: 'processed' }>) => void;
}

const CHILD = path.join(__dirname, `worker-process${path.extname(__filename)}`);

export class WorkerFleet {
  readonly workers: LiveWorker[] = [];
  private readonly pool: Parked[] = [];
  private readonly all = new Set<ChildProcess>();
  private readonly log: fs.WriteStream;
  /** Messages released by draining workers (their drain deadline passed, or prefetched). */
  released = 0;
  private closing = false;
  private failure: string | undefined;

  constructor(private readonly o: WorkerFleetOptions) {
    this.log = fs.createWriteStream(o.logFile, { flags: 'a' });
    // Every worker process pipes into it.
    this.log.setMaxListeners(0);
  }

  /** Fills the pool and resolves when every parked process is ready. */
  async warmUp(): Promise<void> {
    this.refill();
    await Promise.all(this.pool.map((p) => p.ready));
  }

  /** A worker process failed to load its handler. */
  get error(): string | undefined {
    return this.failure;
  }

  private spawn(): Parked {
    const child = fork(CHILD, [], { env: { ...process.env, ...this.o.env, [WORKER_MODULE_ENV]: this.o.workerModule }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.all.add(child);
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    const parked: Parked = { child, exited: false, ready: undefined as unknown as Promise<void> };
    (parked as { ready: Promise<void> }).ready = new Promise<void>((resolve, reject) => {
      child.on('message', (r: WorkerReport) => {
        if (r.type === 'ready') resolve();
        else if (r.type === 'error') {
          this.failure = r.error;
          reject(new Error(r.error));
        } else this.onReport(child, r);
      });
      child.on('exit', () => {
        reject(new Error('worker process exited before it was ready'));
        parked.exited = true;
        this.all.delete(child);
        this.onExit(child);
      });
    });
    parked.ready.catch(() => undefined);
    return parked;
  }

  private refill(): void {
    if (this.closing) return;
    const live = this.workers.filter((w) => w.state === 'starting' || w.state === 'running').length;
    while (this.pool.length + live < this.o.poolSize) this.pool.push(this.spawn());
  }

  private byChild(child: ChildProcess): LiveWorker | undefined {
    return this.workers.find((w) => w.proc.child === child && w.state !== 'stopped');
  }

  private onReport(child: ChildProcess, r: WorkerReport): void {
    const w = this.byChild(child);
    if (r.type === 'processed') this.o.onProcessed(r);
    if (r.type === 'stopped') this.released += r.released;
    if (w && (r.type === 'inFlight' || r.type === 'processed')) w.inFlight = r.inFlight;
  }

  private onExit(child: ChildProcess): void {
    const w = this.byChild(child);
    if (w) {
      w.state = 'stopped';
      w.stoppedAt = this.o.clock.now();
      w.inFlight = 0;
    }
    const i = this.pool.findIndex((p) => p.child === child);
    if (i >= 0) this.pool.splice(i, 1);
    this.refill();
  }

  /** Launches a worker at simulated time `now`; `warm` ones start at once (the run's initial fleet). */
  launch(now: number, warm = false): void {
    const proc = this.pool.shift() ?? this.spawn();
    const delay = warm ? 0 : this.o.rng.uniform(this.o.startupSeconds.min, this.o.startupSeconds.max);
    this.workers.push({ launchedAt: now, readyAt: now + delay, state: 'starting', stoppedAt: NaN, inFlight: 0, proc });
    this.refill();
  }

  /** Starts the workers whose start-up delay is over (a process still booting starts when it is ready). */
  startDue(now: number): void {
    for (const w of this.workers) {
      if (w.state !== 'starting' || w.readyAt > now) continue;
      w.state = 'running';
      const start: StartMessage = { type: 'start', options: this.o.startOptions };
      void w.proc.ready.then(() => { if (w.proc.child.connected) w.proc.child.send(start); }, () => undefined);
    }
  }

  /**
   * Brings the live workers (starting or running) to `desired`, in the simulator's removal order;
   * returns how many of the workers it stopped held a message (they drain).
   */
  reconcile(desired: number, now: number): number {
    const live = this.workers.filter((w) => w.state === 'starting' || w.state === 'running');
    for (let i = live.length; i < desired; i++) this.launch(now);
    let excess = live.length - desired;
    let busyRemoved = 0;
    if (excess <= 0) return busyRemoved;
    const rank = (w: LiveWorker): number => (w.state === 'starting' ? -1 : w.inFlight);
    const victims = live.map((w, i) => ({ w, i })).sort((a, b) => rank(a.w) - rank(b.w) || b.i - a.i);
    for (const { w } of victims) {
      if (excess-- <= 0) break;
      if (w.state === 'starting') {
        // Never started: its process goes back to the pool.
        w.state = 'stopped';
        w.stoppedAt = now;
        this.pool.unshift(w.proc);
      } else {
        if (w.inFlight > 0) busyRemoved++;
        this.terminate(w, now);
      }
    }
    return busyRemoved;
  }

  private terminate(w: LiveWorker, _now: number): void {
    w.state = 'draining';
    const { child } = w.proc;
    child.kill('SIGTERM');
    const timer = setTimeout(() => { if (!w.proc.exited) child.kill('SIGKILL'); }, this.o.killAfterMs);
    child.once('exit', () => clearTimeout(timer));
  }

  /** The workers' counts, as the simulator takes them. */
  counts(): { running: number; billed: number; starting: number; draining: number; inFlight: number } {
    let running = 0;
    let billed = 0;
    let starting = 0;
    let draining = 0;
    let inFlight = 0;
    for (const w of this.workers) {
      if (w.state === 'stopped') continue;
      billed++;
      if (w.state === 'starting') {
        starting++;
        continue;
      }
      running++;
      if (w.state === 'draining') draining++;
      inFlight += w.inFlight;
    }
    return { running, billed, starting, draining, inFlight };
  }

  /** The workers in transition at `now`, as EC2 Auto Scaling counts a group's instances (`transitionOf`). */
  transitions(now: number, warmupSeconds: number): GroupTransitions {
    const group = { warming: 0, terminating: 0 };
    for (const w of this.workers) {
      if (w.state === 'stopped') continue;
      const transition = transitionOf(w.state, now - w.readyAt, warmupSeconds);
      if (transition) group[transition]++;
    }
    return group;
  }

  /** SIGTERM to every worker (parked ones exit at once); resolves when all have exited, SIGKILL after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    const children = [...this.all];
    const exits = children.map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('exit', () => resolve());
    }));
    for (const c of children) c.kill('SIGTERM');
    const timer = setTimeout(() => { for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL'); }, graceMs);
    await Promise.all(exits);
    clearTimeout(timer);
    await new Promise<void>((resolve) => this.log.end(resolve));
  }

  /** Kills every process at once (a second Ctrl-C, or the process exiting). */
  killAll(): void {
    for (const c of this.all) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
}
