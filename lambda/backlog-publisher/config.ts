/**
 * The handler's configuration, read from its environment once per cold start. Pure: no SDK.
 * Every problem is reported at once, naming the variable, what it may be and what it was.
 */
import { check, formatViolations, type Violation } from '../../lib/policy/violation';
import {
  ALLOWED_PERIODS_SECONDS,
  DEFAULT_METRIC_NAMESPACE,
  DEFAULT_PERIOD_SECONDS,
  PUBLISHER_ENV,
  type PublisherPeriodSeconds,
} from './contract';

/** Where the running-worker count comes from. */
export type WorkerSource =
  | { readonly kind: 'ecs'; readonly cluster: string; readonly service: string }
  | { readonly kind: 'autoScaling'; readonly groupName: string };

export interface PublisherConfig {
  readonly queueUrl: string;
  readonly fleetName: string;
  readonly namespace: string;
  readonly periodSeconds: PublisherPeriodSeconds;
  readonly workers: WorkerSource;
}

/** A configuration the handler cannot run with; not transient, so the invocation fails. */
export class PublisherConfigError extends Error {
  constructor(readonly violations: readonly Violation[]) {
    super(formatViolations('backlog-publisher environment', violations));
    this.name = 'PublisherConfigError';
  }
}

/** CloudWatch dimension values are 1-1,024 characters; namespaces 1-255 and never `AWS/...`. */
const MAX_DIMENSION_VALUE = 1024;
const MAX_NAMESPACE = 255;
// Printable ASCII without a leading colon (PutMetricData's `Namespace` pattern is `[^:].*`).
const NAMESPACE_PATTERN = /^[\x20-\x7e]+$/;

/** Reads a variable; unset and blank are the same. */
function read(env: Readonly<Record<string, string | undefined>>, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.length > 1;
  } catch {
    return false;
  }
}

/** Parses and validates the environment; throws {@link PublisherConfigError} listing every problem. */
export function parseConfig(env: Readonly<Record<string, string | undefined>>): PublisherConfig {
  const E = PUBLISHER_ENV;
  const queueUrl = read(env, E.queueUrl);
  const fleetName = read(env, E.fleetName);
  const namespace = read(env, E.metricNamespace) ?? DEFAULT_METRIC_NAMESPACE;
  const periodText = read(env, E.periodSeconds);
  const cluster = read(env, E.ecsCluster);
  const service = read(env, E.ecsService);
  const groupName = read(env, E.autoScalingGroupName);

  const periods: readonly number[] = ALLOWED_PERIODS_SECONDS;
  const period = periodText === undefined ? DEFAULT_PERIOD_SECONDS : Number(periodText);
  const ecs = cluster !== undefined || service !== undefined;

  const violations: Violation[] = [
    ...check(queueUrl !== undefined && isHttpUrl(queueUrl), E.queueUrl, 'the queue\'s URL (https://sqs.<region>.amazonaws.com/<account>/<name>)', queueUrl ?? '(unset)'),
    ...check(fleetName !== undefined && fleetName.length <= MAX_DIMENSION_VALUE, E.fleetName,
      `1-${MAX_DIMENSION_VALUE} characters (the value of the Fleet dimension)`, fleetName ?? '(unset)'),
    ...check(namespace.length <= MAX_NAMESPACE && NAMESPACE_PATTERN.test(namespace) && !namespace.startsWith(':') && !namespace.startsWith('AWS/'),
      E.metricNamespace, `1-${MAX_NAMESPACE} printable ASCII characters, not starting with "AWS/" or ":"`, namespace),
    ...check(periodText === undefined || (/^\d+$/.test(periodText) && periods.includes(period)), E.periodSeconds,
      `one of ${periods.join(', ')} (seconds)`, periodText),
    ...check(!ecs || (cluster !== undefined && service !== undefined), ecs && cluster === undefined ? E.ecsCluster : E.ecsService,
      `set together with ${ecs && cluster === undefined ? E.ecsService : E.ecsCluster}`, '(unset)'),
    ...check(!(ecs && groupName !== undefined), E.autoScalingGroupName,
      `unset when ${E.ecsCluster}/${E.ecsService} are set (one fleet: an ECS service or an Auto Scaling group)`, groupName),
    ...check(ecs || groupName !== undefined, `${E.ecsCluster} + ${E.ecsService} or ${E.autoScalingGroupName}`,
      'set: where the running workers are counted', '(unset)'),
  ];
  if (violations.length > 0) throw new PublisherConfigError(violations);

  return {
    queueUrl: queueUrl!,
    fleetName: fleetName!,
    namespace,
    periodSeconds: period as PublisherPeriodSeconds,
    workers: ecs ? { kind: 'ecs', cluster: cluster!, service: service! } : { kind: 'autoScaling', groupName: groupName! },
  };
}
