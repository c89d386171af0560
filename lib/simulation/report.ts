/** The comparison as a text table and as machine-readable rows. */
import type { Comparison } from './compare';
import type { RunSummary } from './stats';

const COLUMNS: readonly [string, (s: RunSummary) => string][] = [
  ['policy', (s) => s.policy],
  ['p50 wait', (s) => seconds(s.waitP50)],
  ['p95 wait', (s) => seconds(s.waitP95)],
  ['p99 wait', (s) => seconds(s.waitP99)],
  ['max wait', (s) => seconds(s.waitMax)],
  ['late', (s) => `${s.late} (${percent(s.late, s.messages)})`],
  ['peak workers', (s) => String(s.peakWorkers)],
  ['worker-minutes', (s) => s.workerMinutes.toFixed(0)],
  ['scale events', (s) => String(s.scaleEvents)],
  ['unfinished', (s) => String(s.unfinished)],
];

function seconds(s: number): string {
  if (!Number.isFinite(s)) return '-';
  return s < 100 ? `${s.toFixed(1)} s` : `${s.toFixed(0)} s`;
}

function percent(n: number, of: number): string {
  return of === 0 ? '0 %' : `${((100 * n) / of).toFixed(1)} %`;
}

/** A fixed-width table, one row per policy. */
export function formatTable(summaries: readonly RunSummary[]): string {
  const rows = [COLUMNS.map(([h]) => h), ...summaries.map((s) => COLUMNS.map(([, f]) => f(s)))];
  const widths = COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The header and table the CLI prints. */
export function formatReport(c: Comparison, latencyGoalSeconds: number): string {
  const sent = c.runs[0]?.sent ?? 0;
  const lines = [
    `scenario: ${c.trace.name} (${c.trace.description})`,
    `${sent} messages over ${(c.trace.durationSeconds / 60).toFixed(0)} min, simulated ${(c.durationSeconds / 60).toFixed(0)} min; latency goal ${latencyGoalSeconds} s ("late" = waited longer)`,
    '',
    formatTable(c.summaries),
    '',
    ...c.policies.map((p) => `  ${p.name}: ${p.description}`),
  ];
  return lines.join('\n');
}

/** Summaries as CSV (one row per policy). */
export function summariesToCsv(summaries: readonly RunSummary[]): string {
  const keys: (keyof RunSummary)[] = ['policy', 'messages', 'waitP50', 'waitP95', 'waitP99', 'waitMax', 'late', 'unfinished', 'peakWorkers', 'workerMinutes', 'scaleEvents'];
  return [keys.join(','), ...summaries.map((s) => keys.map((k) => (typeof s[k] === 'number' ? Number((s[k] as number).toFixed(3)) : s[k])).join(','))].join('\n') + '\n';
}
