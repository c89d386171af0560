import type { BacklogScalingModel } from '../policy/scaling-policy';
import type { IAgentFleet } from './agent-fleet';

/**
 * A fleet whose own orchestrator executes the scaling policy model (EKS: KEDA and the Horizontal
 * Pod Autoscaler), rather than Auto Scaling policies that CloudWatch alarms trigger.
 * `BacklogScaling` builds and validates the model as for any fleet, then hands it over here
 * instead of adding policies, so the one model stays the one source on every platform.
 */
export interface IModelScaledFleet extends IAgentFleet {
  /** Makes the fleet scale by the model (once per fleet). */
  scaleFromModel(model: BacklogScalingModel): void;
}

/** Whether the fleet executes the model itself. */
export function isModelScaledFleet(fleet: IAgentFleet): fleet is IModelScaledFleet {
  return typeof (fleet as Partial<IModelScaledFleet>).scaleFromModel === 'function';
}
