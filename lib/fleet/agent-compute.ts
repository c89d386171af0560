import type { Construct } from 'constructs';
import type { AgentFleetProps, IAgentFleet } from './agent-fleet';
import { Ec2AgentFleet, type Ec2ComputeOptions } from './ec2-agent-fleet';
import { EksAgentFleet, type EksComputeOptions } from './eks-agent-fleet';
import { FargateAgentFleet, type FargateComputeOptions } from './fargate-agent-fleet';

/** Where the workers of an `ElasticAgentFleet` run: ECS Fargate tasks or EC2 instances. */
export abstract class AgentCompute {
  /** Workers as ECS Fargate tasks. */
  public static fargate(options: FargateComputeOptions = {}): AgentCompute {
    return new FargateCompute(options);
  }

  /** Workers as EC2 instances of an Auto Scaling group, one agent container each. */
  public static ec2(options: Ec2ComputeOptions = {}): AgentCompute {
    return new Ec2Compute(options);
  }

  /**
   * Workers as pods of a Kubernetes Deployment on EKS, scaled by KEDA from the same policy model
   * (an `aws-sqs-queue` ScaledObject instead of Auto Scaling policies).
   */
  public static eks(options: EksComputeOptions = {}): AgentCompute {
    return new EksCompute(options);
  }

  /** Creates the fleet. */
  public abstract createFleet(scope: Construct, id: string, props: AgentFleetProps): IAgentFleet;
}

class FargateCompute extends AgentCompute {
  constructor(private readonly options: FargateComputeOptions) {
    super();
  }

  public createFleet(scope: Construct, id: string, props: AgentFleetProps): IAgentFleet {
    return new FargateAgentFleet(scope, id, { ...this.options, ...props });
  }
}

class Ec2Compute extends AgentCompute {
  constructor(private readonly options: Ec2ComputeOptions) {
    super();
  }

  public createFleet(scope: Construct, id: string, props: AgentFleetProps): IAgentFleet {
    return new Ec2AgentFleet(scope, id, { ...this.options, ...props });
  }
}

class EksCompute extends AgentCompute {
  constructor(private readonly options: EksComputeOptions) {
    super();
  }

  public createFleet(scope: Construct, id: string, props: AgentFleetProps): IAgentFleet {
    return new EksAgentFleet(scope, id, { ...this.options, ...props });
  }
}
