/** Option parsing that the simulator's and the local run's commands share. */
import * as fs from 'fs';
import * as path from 'path';
import { DEFAULT_BASE_RATE, parseTraceCsv, scenarioTrace, SCENARIO_NAMES, type ScenarioName, type Trace } from './trace';

/** The `parseArgs` options both commands take: the load, the fleet's bounds, the config, the output. */
export const SHARED_OPTIONS = {
  'scenario': { type: 'string' },
  'trace': { type: 'string' },
  'config': { type: 'string' },
  'seed': { type: 'string' },
  'base-rate': { type: 'string' },
  'min-workers': { type: 'string' },
  'max-workers': { type: 'string' },
  'out': { type: 'string' },
  'no-charts': { type: 'boolean' },
  'help': { type: 'boolean', short: 'h' },
} as const;

/** A numeric option, or undefined when absent; `ok` and its `range` text say what is accepted. */
export function numberOption(name: string, value: string | undefined, ok: (n: number) => boolean = () => true, range = ''): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || !ok(n)) throw new Error(`--${name} must be ${range || 'a number'}, got "${value}"`);
  return n;
}

/** The load to replay: `--trace <file.csv>`, or `--scenario <name>` (default viral-burst) at `--base-rate`. */
export function loadTrace(values: { readonly trace?: string; readonly scenario?: string; readonly 'base-rate'?: string }, seed: number): Trace {
  if (values.trace) {
    return parseTraceCsv(fs.readFileSync(values.trace, 'utf8'), path.basename(values.trace, path.extname(values.trace)));
  }
  const scenario = (values.scenario ?? 'viral-burst') as ScenarioName;
  if (!SCENARIO_NAMES.includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got "${scenario}"`);
  const baseRatePerSecond = numberOption('base-rate', values['base-rate'], (n) => n > 0, 'a number > 0') ?? DEFAULT_BASE_RATE;
  return scenarioTrace(scenario, { baseRatePerSecond, seed });
}
