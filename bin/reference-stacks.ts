import * as path from 'node:path';
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import {
  AgentCompute, AgentImage, BacklogTarget, ElasticAgentFleet, type ElasticAgentFleetProps,
} from '../lib';

/**
 * The reference agent, built at deploy time by agent/Dockerfile from the repository root (synth
 * only stages what .dockerignore lets through: the worker runtime and agent/index.ts).
 */
export const REFERENCE_AGENT_IMAGE = AgentImage.fromAsset(path.join(__dirname, '..'), { file: 'agent/Dockerfile' });

/** What both reference stacks share: the reference agent, its concurrency and its latency goal. */
function referenceFleet(compute: AgentCompute): ElasticAgentFleetProps {
  const concurrency = 4;
  return {
    image: REFERENCE_AGENT_IMAGE,
    compute,
    minWorkers: 0,
    maxWorkers: 20,
    concurrency,
    handlerTimeout: Duration.minutes(2),
    // Tasks take about 6 s; a task may wait a minute: 60 / 6 x 4 = 40 tasks per worker.
    target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6), concurrency }),
  };
}

/** An agent fleet on ECS Fargate, scaled on the backlog publisher's 10-second metrics (the default). */
export class AgentFleetFargateStack extends Stack {
  public readonly agents: ElasticAgentFleet;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.agents = new ElasticAgentFleet(this, 'Agents', referenceFleet(AgentCompute.fargate({ cpu: 512, memoryLimitMiB: 1024 })));
  }
}

/**
 * The same agent fleet on EC2 Auto Scaling, also scaled on the backlog publisher's 10-second
 * metrics (EC2 Auto Scaling target tracking takes high-resolution periods).
 */
export class AgentFleetEc2Stack extends Stack {
  public readonly agents: ElasticAgentFleet;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.agents = new ElasticAgentFleet(this, 'Agents', referenceFleet(AgentCompute.ec2({ instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.MEDIUM) })));
  }
}

/**
 * The same agent fleet on Kubernetes: a new EKS Auto Mode cluster, the agent as a Deployment, and
 * KEDA (installed by its Helm chart) scaling it with a ScaledObject derived from the same policy.
 */
export class AgentFleetEksStack extends Stack {
  public readonly agents: ElasticAgentFleet;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.agents = new ElasticAgentFleet(this, 'Agents', referenceFleet(AgentCompute.eks({ cpu: '500m', memory: '1Gi' })));
  }
}
