/**
 * The live terminal view: a progress bar of the trace and the fleet's state, redrawn in place on
 * a terminal, or one plain line per simulated ten minutes elsewhere (logs, CI, pipes).
 */
import type { ScalingEvent } from '../simulation/autoscaler';
import type { LiveStatus } from './run';

const BAR_WIDTH = 30;

export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

function wait(s: number): string {
  return Number.isFinite(s) ? `${s.toFixed(0)} s` : '-';
}

export function formatEvent(e: ScalingEvent): string {
  return `${clock(e.time)} ${e.from}→${e.to} (${e.rule})`;
}

/** The view's lines for a status. */
export function statusLines(s: LiveStatus): string[] {
  const share = Math.min(1, s.now / s.durationSeconds);
  const filled = Math.round(share * BAR_WIDTH);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${(share * 100).toFixed(0).padStart(3)} %`;
  return [
    `${s.finishing ? 'finishing' : 'trace'} ${bar}  ${clock(s.now)} / ${clock(s.durationSeconds)} simulated  sent ${s.sent}/${s.total}  processed ${s.processed}`,
    `backlog ${s.queue.visible} visible, ${s.queue.inFlight} in flight   workers desired ${s.desired}, running ${s.running} (+${s.starting} starting, ${s.draining} draining)   p95 wait so far ${wait(s.waitP95)}`,
    `scale events: ${s.events.slice(-3).map(formatEvent).join('; ') || '-'}${s.lagSeconds > 60 ? `   (behind the clock by ${s.lagSeconds.toFixed(0)} s: the machine is busy)` : ''}`,
  ];
}

export interface LiveView {
  update(s: LiveStatus): void;
  close(): void;
}

/** A view on `stream`: redrawn at most every `intervalMs` on a TTY, else a line per `plainEverySeconds` simulated. */
export function liveView(stream: NodeJS.WriteStream, tty: boolean, intervalMs = 250, plainEverySeconds = 600): LiveView {
  let drawn = 0;
  let last = 0;
  let lastPlain = -Infinity;
  let latest: LiveStatus | undefined;
  const draw = (): void => {
    if (!latest) return;
    const lines = statusLines(latest);
    stream.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
    drawn = lines.length;
  };
  return {
    update(s) {
      latest = s;
      if (tty) {
        const now = Date.now();
        if (now - last >= intervalMs) {
          last = now;
          draw();
        }
      } else if (s.now - lastPlain >= plainEverySeconds) {
        lastPlain = s.now;
        const [a, b] = statusLines(s);
        stream.write(`${a.replace(/\[[#-]+\]\s+/, '')} | ${b}\n`);
      }
    },
    close() {
      if (tty) draw();
    },
  };
}
