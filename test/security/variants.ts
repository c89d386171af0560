import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ssm from 'aws-cdk-lib/aws-ssm';
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
  ['EC2 with secrets', ec2SecretsStack],
];

/**
 * An EC2 fleet reading the secrets users pass most: a JSON key of a Secrets Manager secret, and a
 * SecureString under a customer managed key (both imported: the fleet grants, it creates no secret).
 */
export function ec2SecretsStack(app: App): Stack {
  const stack = new Stack(app, 'Ec2Secrets');
  const db = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Db', 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:agents/db-AbCdEf');
  const token = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', {
    parameterName: '/agents/token',
    encryptionKey: kms.Key.fromKeyArn(stack, 'TokenKey', 'arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'),
  });
  new ElasticAgentFleet(stack, 'Agents', {
    image: TEST_IMAGE,
    compute: AgentCompute.ec2({
      secrets: { DB_PASSWORD: ecs.Secret.fromSecretsManager(db, 'password'), API_TOKEN: ecs.Secret.fromSsmParameter(token) },
    }),
  });
  return stack;
}

function fleetStack(app: App, id: string, compute: AgentCompute, props: Partial<ElasticAgentFleetProps> = {}): Stack {
  const stack = new Stack(app, id);
  new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute, ...props });
  return stack;
}
