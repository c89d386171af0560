import { App, Stack } from 'aws-cdk-lib';
import { AgentCompute, AgentImage, AgentQueueEncryption, BacklogMetricSource, ElasticAgentFleet } from '../../lib';
import { AgentFleetEc2Stack, AgentFleetEksStack, AgentFleetFargateStack } from '../../bin/reference-stacks';
import { CDK_CONTEXT } from '../support/cdk';
import { ec2SecretsStack } from './variants';

/** Every IAM action our stacks grant, and the feature it serves. An action missing here fails the test. */
const FEATURE_OF_ACTION: Record<string, string> = {
  'sqs:ReceiveMessage': 'workers consume the task queue',
  'sqs:DeleteMessage': 'workers delete finished tasks',
  'sqs:ChangeMessageVisibility': 'workers extend visibility (heartbeat) and release tasks on drain or failure',
  'sqs:GetQueueUrl': 'workers consume the task queue',
  'sqs:GetQueueAttributes': 'workers consume the task queue; the publisher and KEDA\'s operator read the queue counters',
  'kms:Decrypt': 'workers read tasks from a KMS-encrypted queue, and EC2 workers secrets under a customer managed key',
  'ecs:UpdateTaskProtection': 'Fargate workers hold scale-in protection while busy',
  'ecs:GetTaskProtection': 'Fargate workers hold scale-in protection while busy',
  'autoscaling:CompleteLifecycleAction': 'EC2 workers end the termination hook after draining, and the launch hook once they run',
  'autoscaling:SetInstanceHealth': 'an EC2 worker that keeps failing marks its own instance unhealthy',
  'autoscaling:SetInstanceProtection': 'a busy EC2 worker protects its own instance from scale-in',
  'ecs:DescribeServices': 'the publisher counts running Fargate workers',
  'autoscaling:DescribeAutoScalingGroups': 'the publisher counts running EC2 workers',
  'cloudwatch:PutMetricData': 'the publisher puts backlog per worker; the CloudWatch agent on EC2 workers puts memory use',
  'ec2:DescribeTags': 'the CloudWatch agent on EC2 workers names its memory metric by Auto Scaling group',
  'logs:CreateLogStream': 'workers, the publisher and VPC flow logs write their logs',
  'logs:PutLogEvents': 'workers, the publisher and VPC flow logs write their logs',
  'logs:DescribeLogStreams': 'VPC flow logs write their logs',
  'ecr:GetAuthorizationToken': 'pulling the agent image from ECR',
  'secretsmanager:GetSecretValue': 'EC2 workers read their secrets at each container start (ECS reads them for Fargate)',
  'secretsmanager:DescribeSecret': 'EC2 workers read their secrets (granted with GetSecretValue by the secret\'s grantRead)',
  'ssm:GetParameter': 'EC2 workers read their SSM parameter secrets at each container start',
  'ssm:GetParameters': 'EC2 workers read their SSM parameter secrets (granted with GetParameter by the parameter\'s grantRead)',
  'ssm:GetParameterHistory': 'EC2 workers read their SSM parameter secrets (granted with GetParameter by the parameter\'s grantRead)',
  'ssm:DescribeParameters': 'EC2 workers read their SSM parameter secrets (granted with GetParameter by the parameter\'s grantRead)',
  'ecr:BatchCheckLayerAvailability': 'pulling the agent image from ECR',
  'ecr:GetDownloadUrlForLayer': 'pulling the agent image from ECR',
  'ecr:BatchGetImage': 'pulling the agent image from ECR',
  'eks:DescribeCluster': 'the kubectl provider of a new EKS cluster applies the fleet\'s manifests and KEDA\'s chart',
  'lambda:InvokeFunction': 'CDK\'s provider framework calls the EKS kubectl handler',
  'lambda:GetFunction': 'CDK\'s provider framework calls the EKS kubectl handler',
  'ec2:AuthorizeSecurityGroupIngress': 'CDK closes the new VPC\'s default security group',
  'ec2:AuthorizeSecurityGroupEgress': 'CDK closes the new VPC\'s default security group',
  'ec2:RevokeSecurityGroupIngress': 'CDK closes the new VPC\'s default security group',
  'ec2:RevokeSecurityGroupEgress': 'CDK closes the new VPC\'s default security group',
};

/**
 * Actions AWS offers no resource-level permission for, so `Resource: "*"` is the narrowest there
 * is; each needs the condition that narrows it, where one exists.
 */
const WILDCARD_RESOURCE_ACTIONS: Record<string, string | undefined> = {
  'cloudwatch:PutMetricData': 'cloudwatch:namespace',
  'autoscaling:DescribeAutoScalingGroups': 'aws:RequestedRegion',
  'ec2:DescribeTags': 'aws:RequestedRegion',
  // A registry login token; no condition key narrows it. The pull itself is scoped to the repository.
  'ecr:GetAuthorizationToken': undefined,
};

interface Statement { Effect: string; Action: string | string[]; Resource: unknown; Condition?: Record<string, Record<string, unknown>> }

function allStatements(): { where: string; statement: Statement }[] {
  const app = new App({ context: CDK_CONTEXT });
  new AgentFleetFargateStack(app, 'AgentFleetFargateStack');
  new AgentFleetEc2Stack(app, 'AgentFleetEc2Stack');
  new AgentFleetEksStack(app, 'AgentFleetEksStack');
  for (const [name, compute] of [['PublisherFargate', AgentCompute.fargate()], ['PublisherEc2', AgentCompute.ec2()]] as const) {
    new ElasticAgentFleet(new Stack(app, name), 'Agents', {
      image: AgentImage.fromRegistry('public.ecr.aws/docker/library/node:20-alpine'),
      compute,
      metricSource: BacklogMetricSource.PUBLISHER,
      queueProps: { encryption: AgentQueueEncryption.KMS },
    });
  }
  ec2SecretsStack(app);
  const out: { where: string; statement: Statement }[] = [];
  for (const stack of app.synth().stacks) {
    for (const [id, resource] of Object.entries<{ Type: string; Properties: any }>(stack.template.Resources)) {
      const documents = resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy'
        ? [resource.Properties.PolicyDocument]
        : resource.Type === 'AWS::IAM::Role' ? (resource.Properties.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument) : [];
      for (const document of documents) {
        for (const statement of document.Statement as Statement[]) out.push({ where: `${stack.stackName}/${id}`, statement });
      }
    }
  }
  return out;
}

const actionsOf = (s: Statement): string[] => ([] as string[]).concat(s.Action);

describe('IAM policies of the synthesized stacks', () => {
  const statements = allStatements();

  test('there are policies to check', () => {
    expect(statements.length).toBeGreaterThan(10);
  });

  test('no action is a wildcard', () => {
    const wild = statements.filter(({ statement }) => actionsOf(statement).some((a) => a === '*' || a.endsWith(':*')));
    expect(wild).toEqual([]);
  });

  test('every granted action is traceable to a feature', () => {
    const unknown = statements.flatMap(({ where, statement }) =>
      actionsOf(statement).filter((a) => !(a in FEATURE_OF_ACTION)).map((a) => `${a} in ${where}`));
    expect(unknown).toEqual([]);
  });

  test('Resource "*" only where AWS allows nothing narrower, and then with its condition', () => {
    const problems = statements
      .filter(({ statement }) => statement.Effect === 'Allow' && ([] as unknown[]).concat(statement.Resource).includes('*'))
      .flatMap(({ where, statement }) => actionsOf(statement).flatMap((action) => {
        if (!(action in WILDCARD_RESOURCE_ACTIONS)) return [`${action} on * in ${where}`];
        const key = WILDCARD_RESOURCE_ACTIONS[action];
        const conditioned = key === undefined || Object.values(statement.Condition ?? {}).some((c) => key in c);
        return conditioned ? [] : [`${action} on * without ${key} in ${where}`];
      }));
    expect(problems).toEqual([]);
  });
});
