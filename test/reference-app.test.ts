import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AgentFleetEc2Stack, AgentFleetEksStack, AgentFleetFargateStack } from '../bin/reference-stacks';
import { CDK_CONTEXT, kubernetesManifests, resourcesOf } from './support/cdk';

const ROOT = path.join(__dirname, '..');

describe('reference app', () => {
  const app = new App({ context: CDK_CONTEXT });
  const fargateStack = new AgentFleetFargateStack(app, 'AgentFleetFargateStack');
  const ec2Stack = new AgentFleetEc2Stack(app, 'AgentFleetEc2Stack');
  const eksStack = new AgentFleetEksStack(app, 'AgentFleetEksStack');
  const assembly = app.synth();
  const fargate = Template.fromJSON(assembly.getStackArtifact(fargateStack.artifactId).template);
  const ec2 = Template.fromJSON(assembly.getStackArtifact(ec2Stack.artifactId).template);
  const eks = Template.fromJSON(assembly.getStackArtifact(eksStack.artifactId).template);

  /** The target tracking policy's metric math: the visible metric, the divisor, the expression. */
  function trackedMath(template: Template, type: string, config: string) {
    const [[, policy]] = resourcesOf(template, type).filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
    const metrics = policy.Properties[config].CustomizedMetricSpecification.Metrics as { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } } }[];
    return Object.fromEntries(metrics.map((m) => [m.Id, m.Expression ?? m.MetricStat!.Metric.MetricName]));
  }

  /** The reference target's task time factor: the workers' measured ProcessingTime over 1.25 x the declared 6 s, at least 1. */
  const FACTOR = 'IF(FILL(FILL(processingTime, REPEAT), 7500) > 7500, FILL(FILL(processingTime, REPEAT), 7500) / 7500, 1)';

  test('Fargate stack: two encrypted queues with redrive, an ECS service, target tracking on the publisher\'s visible (weighed by the task time) / desired, steps, stop timeout', () => {
    fargate.resourceCountIs('AWS::SQS::Queue', 2);
    expect(resourcesOf(fargate, 'AWS::SQS::Queue').every(([, q]) => q.Properties.SqsManagedSseEnabled)).toBe(true);
    fargate.hasResourceProperties('AWS::SQS::Queue', { RedrivePolicy: Match.objectLike({ maxReceiveCount: 5 }) });
    fargate.resourceCountIs('AWS::ECS::Service', 1);
    expect(trackedMath(fargate, 'AWS::ApplicationAutoScaling::ScalingPolicy', 'TargetTrackingScalingPolicyConfiguration')).toEqual({
      visible: 'VisibleMessages',
      desired: 'DesiredWorkers',
      processingTime: 'ProcessingTime',
      e1: `${FACTOR} * visible / IF(desired > 1, desired, 1)`,
    });
    // The backlog publisher, the default metric source: one invocation a minute sampling every 10 s.
    fargate.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    fargate.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Environment: { Variables: Match.objectLike({ PERIOD_SECONDS: '10' }) } });
    fargate.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { PolicyType: 'StepScaling' });
    fargate.hasResourceProperties('AWS::ECS::TaskDefinition', { ContainerDefinitions: [Match.objectLike({ StopTimeout: 120 })] });
  });

  test('EC2 stack: a group with an IMDSv2 launch template, a termination hook, group metrics, target tracking on the same math at 10 s', () => {
    ec2.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ MetadataOptions: Match.objectLike({ HttpTokens: 'required' }) }),
    });
    ec2.hasResourceProperties('AWS::AutoScaling::LifecycleHook', { LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING' });
    ec2.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MetricsCollection: [{ Granularity: '1Minute' }] });
    // The EC2 stack scales on the backlog publisher's high-resolution metrics.
    expect(trackedMath(ec2, 'AWS::AutoScaling::ScalingPolicy', 'TargetTrackingConfiguration')).toEqual({
      visible: 'VisibleMessages',
      desired: 'DesiredWorkers',
      processingTime: 'ProcessingTime',
      e1: `${FACTOR} * visible / IF(desired > 1, desired, 1)`,
    });
    const [[, policy]] = resourcesOf(ec2, 'AWS::AutoScaling::ScalingPolicy').filter(([, p]) => p.Properties.PolicyType === 'TargetTrackingScaling');
    // Every input at 10 s; the workers' ProcessingTime, written once a minute, repeats its last mean in between.
    const periods = (policy.Properties.TargetTrackingConfiguration.CustomizedMetricSpecification.Metrics as { MetricStat?: { Period: number } }[]).flatMap((m) => m.MetricStat ? [m.MetricStat.Period] : []);
    expect(periods).toEqual([10, 10, 10]);
    ec2.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    ec2.hasResourceProperties('AWS::Lambda::Function', { Handler: 'index.handler', Environment: { Variables: Match.objectLike({ PERIOD_SECONDS: '10' }) } });
  });

  test('EKS stack: a Deployment, a ScaledObject on aws-sqs-queue with queueLength = the held backlog capped at the concurrency, a grace period >= the drain deadline, KEDA', () => {
    const objects = kubernetesManifests(eks);
    const deployment = objects.find((o) => o.kind === 'Deployment')!;
    const pod = deployment.spec.template.spec;
    const env = Object.fromEntries((pod.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(Number(env.AGENT_DRAIN_DEADLINE_SECONDS));
    expect(Number(env.AGENT_STOP_TIMEOUT_SECONDS)).toBe(pod.terminationGracePeriodSeconds);
    // No 120 s cap on Kubernetes: the reference handler (120 s) can finish inside the drain.
    expect(Number(env.AGENT_DRAIN_DEADLINE_SECONDS)).toBeGreaterThanOrEqual(Number(env.AGENT_HANDLER_TIMEOUT_SECONDS));
    expect(deployment.spec.replicas).toBeUndefined();

    const scaledObject = objects.find((o) => o.kind === 'ScaledObject')!;
    // queueLength = the backlog per worker the policy model holds (half the acceptable 40), capped at the concurrency (4).
    const { heldBacklogPerWorker, concurrency } = eksStack.agents.scaling.model;
    expect([heldBacklogPerWorker, concurrency]).toEqual([20, 4]);
    const target = concurrency;
    expect(scaledObject.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(scaledObject.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 20, cooldownPeriod: 600 });
    expect(scaledObject.spec.triggers).toEqual([expect.objectContaining({
      type: 'aws-sqs-queue',
      metadata: expect.objectContaining({ queueLength: String(target), scaleOnInFlight: 'true', scaleOnDelayed: 'true', activationQueueLength: '0' }),
    })]);
    expect(objects.find((o) => o.kind === 'TriggerAuthentication')!.spec).toEqual({ podIdentity: { provider: 'aws' } });

    eks.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Chart: 'keda', Repository: 'https://kedacore.github.io/charts', Version: '2.19.0', Namespace: 'keda' });
    eks.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'keda', ServiceAccount: 'keda-operator' });
    eks.hasResourceProperties('AWS::EKS::Cluster', { Version: '1.34', ResourcesVpcConfig: Match.objectLike({ EndpointPublicAccess: false }) });
    // Scaling is KEDA's: no Auto Scaling policy at all.
    eks.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    eks.resourceCountIs('AWS::AutoScaling::ScalingPolicy', 0);
  });

  test('EKS stack: the kubectl and AWS CLI layers are file assets staged at synth, nothing built', () => {
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'AgentFleetEksStack.assets.json'), 'utf8'));
    const files = Object.values(assets.files) as { displayName: string; source: { path: string; packaging: string } }[];
    const layers = files.filter((f) => /Layer/.test(f.displayName));
    expect(layers.map((f) => f.source.packaging)).toEqual(['file', 'file']);
    for (const layer of layers) expect(fs.existsSync(path.join(assembly.directory, layer.source.path))).toBe(true);
    expect(Object.values(assets.dockerImages)).toHaveLength(1);
  });

  test('all three stacks have the dashboard and the alarms', () => {
    // Dead letters, oldest task, saturated fleet, workers not starting, memory near the limit, processing time, the publisher silent;
    // burst, surge (on the publisher's 10 s metrics), scale-in, scale to zero. On EKS no workers-not-starting alarm (the HPA's desired
    // replicas are not a CloudWatch metric), no publisher and so no surge.
    for (const [template, alarms] of [[fargate, 11], [ec2, 11], [eks, 8]] as const) {
      template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template.resourceCountIs('AWS::CloudWatch::Alarm', alarms);
    }
  });

  test('the agent image is staged from the repository root, not built', () => {
    const assets = JSON.parse(fs.readFileSync(path.join(assembly.directory, 'AgentFleetFargateStack.assets.json'), 'utf8'));
    const images = Object.values(assets.dockerImages) as { source: { directory: string; dockerFile: string } }[];
    expect(images).toHaveLength(1);
    expect(images[0].source.dockerFile).toBe('agent/Dockerfile');
    const staged = path.join(assembly.directory, images[0].source.directory);
    expect(fs.existsSync(path.join(staged, 'lib', 'worker', 'worker.ts'))).toBe(true);
    expect(fs.existsSync(path.join(staged, 'node_modules'))).toBe(false);
  });

  test('the Fargate stack template matches its snapshot (asset hashes masked)', () => {
    expect(fargate.toJSON()).toMatchSnapshot();
  });

  test('the EC2 stack template matches its snapshot (asset hashes masked)', () => {
    expect(ec2.toJSON()).toMatchSnapshot();
  });

  test('the EKS stack template matches its snapshot (asset hashes masked)', () => {
    expect(eks.toJSON()).toMatchSnapshot();
  });
});

test('`npx cdk synth` writes the three stacks offline, with no AWS credentials', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-synth-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')));
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', out], {
    cwd: ROOT,
    env: { ...env, AWS_EC2_METADATA_DISABLED: 'true', CDK_DISABLE_CLI_TELEMETRY: 'true' },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(result.stderr).not.toMatch(/error/i);
  expect(result.status).toBe(0);
  expect(fs.readdirSync(out)).toEqual(expect.arrayContaining(['AgentFleetFargateStack.template.json', 'AgentFleetEc2Stack.template.json', 'AgentFleetEksStack.template.json']));
});
