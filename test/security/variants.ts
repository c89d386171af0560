import { App, Stack } from 'aws-cdk-lib';
import { AgentCompute, AgentQueueEncryption, BacklogMetricSource, ElasticAgentFleet, type ElasticAgentFleetProps } from '../../lib';
import { AgentFleetEc2Stack, AgentFleetEksStack, AgentFleetFargateStack } from '../../bin/reference-stacks';
import { TEST_IMAGE } from '../support/cdk';

/**
 * The stacks the security and lint checks run over: the three reference stacks and the four fleet
 * variants users deploy most (defaults on each compute; the publisher with a KMS key or Spot).
 */
export const CHECKED_STACKS: readonly (readonly [name: string, build: (app: App) => Stack])[] = [
  ['reference Fargate stack', (app) => new AgentFleetFargateStack(app, 'AgentFleetFargateStack')],
  ['reference EC2 stack', (app) => new AgentFleetEc2Stack(app, 'AgentFleetEc2Stack')],
  ['reference EKS stack', (app) => new AgentFleetEksStack(app, 'AgentFleetEksStack')],
  ['Fargate, defaults', (app) => fleetStack(app, 'FargateDefaults', AgentCompute.fargate())],
  ['Fargate, publisher and KMS', (app) => fleetStack(app, 'FargatePublisherKms', AgentCompute.fargate(), {
    metricSource: BacklogMetricSource.PUBLISHER, queueProps: { encryption: AgentQueueEncryption.KMS },
  })],
  ['EC2, defaults', (app) => fleetStack(app, 'Ec2Defaults', AgentCompute.ec2())],
  ['EC2 Spot, publisher', (app) => fleetStack(app, 'Ec2SpotPublisher', AgentCompute.ec2({ spot: true }), {
    metricSource: BacklogMetricSource.PUBLISHER,
  })],
];

function fleetStack(app: App, id: string, compute: AgentCompute, props: Partial<ElasticAgentFleetProps> = {}): Stack {
  const stack = new Stack(app, id);
  new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute, ...props });
  return stack;
}
