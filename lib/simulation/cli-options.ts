/** Option parsing that the simulator's and the local run's commands share. */
import * as fs from 'fs';
import * as path from 'path';
import type { ConfigFile } from './config';
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
    return parseTraceCsv(readOptionFile('trace', values.trace), path.basename(values.trace, path.extname(values.trace)));
  }
  const scenario = (values.scenario ?? 'viral-burst') as ScenarioName;
  if (!SCENARIO_NAMES.includes(scenario)) throw new Error(`--scenario must be one of ${SCENARIO_NAMES.join(', ')}, got "${scenario}"`);
  const baseRatePerSecond = numberOption('base-rate', values['base-rate'], (n) => n > 0, 'a number > 0') ?? DEFAULT_BASE_RATE;
  return scenarioTrace(scenario, { baseRatePerSecond, seed });
}

/** `--config <file.json>`: the file's object, or {} without the flag. */
export function loadConfigFile(file: string | undefined): ConfigFile {
  if (file === undefined) return {};
  const text = readOptionFile('config', file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`--config ${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`--config ${file}: must be a JSON object (fleet, worker, cloudWatch, ...), got ${JSON.stringify(parsed)}`);
  return parsed as ConfigFile;
}

/** A file a flag names, or an error naming the flag and the file. */
function readOptionFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    // Node's message without the path it repeats: "ENOENT: no such file or directory".
    throw new Error(`--${flag} ${file}: cannot read it (${(error as Error).message.split(', ')[0]})`, { cause: error });
  }
}
