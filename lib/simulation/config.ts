/**
 * The simulator's configuration: our fleet's scaling choices (`BacklogScalingInput`), the worker
 * and CloudWatch parameters, and which fixed fleets to compare; merged over the defaults.
 */
import { DEFAULT_FLEET, fleetViolations, type FleetConfig } from './policies';
import { DEFAULT_PARAMS, STARTUP_SECONDS, validateParams, type CloudWatchParams, type LatenessParams, type SimulationParams, type WorkerParams } from './params';

export interface SimulationConfig {
  readonly fleet: FleetConfig;
  readonly params: SimulationParams;
  /** Sizes of fixed fleets to compare. @default - maxWorkers, and the size the average load needs */
  readonly fixedFleets?: readonly number[];
}

/** The JSON a `--config` file holds: every field optional. */
export interface ConfigFile {
  readonly fleet?: Partial<FleetConfig>;
  readonly worker?: Partial<WorkerParams>;
  readonly cloudWatch?: Partial<Omit<CloudWatchParams, 'lateness'>> & { readonly lateness?: Partial<LatenessParams> };
  readonly seed?: number;
  readonly latencyGoalSeconds?: number;
  readonly tailSeconds?: number;
  readonly delayedFraction?: number;
  readonly delaySeconds?: number;
  readonly fixedFleets?: readonly number[];
}

const TOP_KEYS = ['fleet', 'worker', 'cloudWatch', 'seed', 'latencyGoalSeconds', 'tailSeconds', 'delayedFraction', 'delaySeconds', 'fixedFleets'];

/** Merges a config file over the defaults; throws one error listing every problem. */
export function resolveConfig(file: ConfigFile = {}): SimulationConfig {
  const unknown = Object.keys(file).filter((k) => !TOP_KEYS.includes(k));
  const compute = file.worker?.compute ?? DEFAULT_PARAMS.worker.compute;
  const worker: WorkerParams = {
    ...DEFAULT_PARAMS.worker,
    startupSeconds: STARTUP_SECONDS[compute] ?? DEFAULT_PARAMS.worker.startupSeconds,
    ...file.worker,
    processingTime: { ...DEFAULT_PARAMS.worker.processingTime, ...file.worker?.processingTime },
  };
  const params: SimulationParams = {
    seed: file.seed ?? DEFAULT_PARAMS.seed,
    worker,
    cloudWatch: {
      ...DEFAULT_PARAMS.cloudWatch,
      ...file.cloudWatch,
      lateness: { ...DEFAULT_PARAMS.cloudWatch.lateness, ...file.cloudWatch?.lateness },
    },
    latencyGoalSeconds: file.latencyGoalSeconds ?? DEFAULT_PARAMS.latencyGoalSeconds,
    tailSeconds: file.tailSeconds ?? DEFAULT_PARAMS.tailSeconds,
    delayedFraction: file.delayedFraction ?? DEFAULT_PARAMS.delayedFraction,
    delaySeconds: file.delaySeconds ?? DEFAULT_PARAMS.delaySeconds,
  };
  const fleet: FleetConfig = { ...DEFAULT_FLEET, ...file.fleet };
  const paramErrors = validateParams(params);
  const errors = [
    ...unknown.map((k) => `unknown key "${k}" (allowed: ${TOP_KEYS.join(', ')})`),
    ...paramErrors,
    // The fleet's model is built from the worker's parameters: checked once those are valid.
    ...(paramErrors.length === 0 ? fleetViolations(fleet, params).map((v) => `fleet.${v.prop} must be ${v.allowed}, got ${v.value}`) : []),
    ...(file.fixedFleets ?? []).filter((n) => !Number.isInteger(n) || n < 0).map((n) => `fixedFleets entries must be whole numbers >= 0, got ${n}`),
  ];
  if (errors.length > 0) throw new Error(`invalid simulation config:\n  ${errors.join('\n  ')}`);
  return { fleet, params, fixedFleets: file.fixedFleets };
}
