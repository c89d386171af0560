import { Duration } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import type { Stack } from 'aws-cdk-lib';
import {
  AgentCompute, AgentQueue, BacklogPublisher, BacklogScaling, BacklogTarget, ElasticAgentFleet, FargateAgentFleet, type FargateAgentFleetProps,
} from '../../lib';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

function fleet(props: Partial<FargateAgentFleetProps> = {}, stack: Stack = testStack()) {
  const queue = new AgentQueue(stack, 'Tasks');
  const made = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, ...props });
  return { stack, queue, fleet: made, template: () => synthTemplate(stack) };
}

function containerEnv(template: Template): Record<string, unknown> {
  const [[, taskDef]] = resourcesOf(template, 'AWS::ECS::TaskDefinition');
  const [container] = taskDef.Properties.ContainerDefinitions;
  return Object.fromEntries(container.Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
}

describe('FargateAgentFleet', () => {
  test('defaults: new VPC with flow logs, cluster with Container Insights, private tasks, circuit breaker', () => {
    const { template } = fleet();
    const t = template();
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
    t.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 }),
    });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: '512', Memory: '1024', RequiresCompatibilities: ['FARGATE'] });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 0, MaxCapacity: 10, ScalableDimension: 'ecs:service:DesiredCount', ServiceNamespace: 'ecs',
    });
  });

  test('the container gets the stop timeout and the worker contract in its environment', () => {
    const { template, queue, stack } = fleet({ concurrency: 4, handlerTimeout: Duration.minutes(2), environment: { MODEL: 'small' } });
    const t = template();
    t.hasResourceProperties('AWS::ECS::TaskDefinition', { ContainerDefinitions: [Match.objectLike({ StopTimeout: 120, Essential: true })] });
    expect(containerEnv(t)).toEqual({
      QUEUE_URL: stack.resolve(queue.queue.queueUrl),
      AGENT_CONCURRENCY: '4',
      AGENT_HANDLER_TIMEOUT_SECONDS: '120',
      AGENT_DRAIN_DEADLINE_SECONDS: '110',
      AGENT_STOP_TIMEOUT_SECONDS: '120',
      AGENT_VISIBILITY_TIMEOUT_SECONDS: '30',
      AGENT_TASK_PROTECTION: 'true',
      AGENT_TASK_PROTECTION_MINUTES: '60',
      AGENT_METRICS_NAMESPACE: 'AgentFleet',
      AGENT_FLEET_NAME: expect.stringMatching(/^TestStackFleet/),
      MODEL: 'small',
    });
  });

  test('the task role may consume the queue and protect its own cluster\'s tasks, nothing more', () => {
    const { template } = fleet();
    const t = template();
    t.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('FleetTaskDefinitionTaskRole') }],
      PolicyDocument: { Statement: [
        Match.objectLike({ Action: Match.arrayWith(['sqs:ReceiveMessage']) }),
        {
          Action: ['ecs:GetTaskProtection', 'ecs:UpdateTaskProtection'],
          Effect: 'Allow',
          Resource: { 'Fn::Join': ['', Match.arrayWith([':task/', { Ref: Match.stringLikeRegexp('FleetCluster') }, '/*'])] },
        },
      ] },
    });
  });

  test('without task protection there is neither the permission nor the variable', () => {
    const { template } = fleet({ taskProtection: false });
    const t = template();
    expect(JSON.stringify(t.toJSON())).not.toContain('ecs:UpdateTaskProtection');
    expect(containerEnv(t)).not.toHaveProperty('AGENT_TASK_PROTECTION');
  });

  test('a secret named like a variable of the fleet or of environment fails at synth (ECS would refuse the task definition at deploy)', () => {
    // GIVEN
    const stack = testStack();
    const param = ssm.StringParameter.fromSecureStringParameterAttributes(stack, 'Token', { parameterName: '/agent/token' });
    const secret = ecs.Secret.fromSsmParameter(param);
    // WHEN / THEN
    expect(() => fleet({ environment: { API_TOKEN: 'x' }, secrets: { API_TOKEN: secret, QUEUE_URL: secret, AGENT_CONCURRENCY: secret } }, stack))
      .toThrow(/TestStack\/Fleet: invalid configuration \(3 problems\):\n {2}- secrets\.API_TOKEN: must be a name not also in environment .*\n {2}- secrets\.QUEUE_URL: must be a name the fleet does not set itself .*\n {2}- secrets\.AGENT_CONCURRENCY: must be a name the fleet does not set itself/);
    // A distinct name passes, and the container gets it as a secret.
    const ok = fleet({ secrets: { API_TOKEN: secret } });
    ok.template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Secrets: [Match.objectLike({ Name: 'API_TOKEN' })] })],
    });
  });

  test('spot runs on FARGATE_SPOT', () => {
    const { template } = fleet({ spot: true });
    template().hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
    });
  });

  test('spot: the service waits for the cluster\'s capacity providers, which it names in its strategy', () => {
    const t = fleet({ spot: true }).template();
    const [[associations]] = resourcesOf(t, 'AWS::ECS::ClusterCapacityProviderAssociations');
    const [[, service]] = Object.entries(t.findResources('AWS::ECS::Service'));
    expect((service as { DependsOn?: string[] }).DependsOn).toContain(associations);
  });

  test('spot with an on-demand base: the first workers on FARGATE, every one above them on FARGATE_SPOT', () => {
    fleet({ spot: true, onDemandBaseWorkers: 2 }).template().hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: [{ CapacityProvider: 'FARGATE', Base: 2, Weight: 0 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 1 }],
    });
  });

  test('spot on a given cluster without FARGATE_SPOT fails at synth; with it, the service waits for it', () => {
    const bare = testStack();
    fleet({ spot: true, cluster: new ecs.Cluster(bare, 'Shared', { vpc: new ec2.Vpc(bare, 'Net') }) }, bare);
    expect(() => synthTemplate(bare))
      .toThrow(/TestStack\/Fleet: invalid configuration[\s\S]*spot: must be false on a cluster without the FARGATE_SPOT capacity provider \(enableFargateCapacityProviders\), got true/);
    const ready = testStack();
    const cluster = new ecs.Cluster(ready, 'Shared', { vpc: new ec2.Vpc(ready, 'Net'), enableFargateCapacityProviders: true });
    const [[associations]] = resourcesOf(fleet({ spot: true, cluster }, ready).template(), 'AWS::ECS::ClusterCapacityProviderAssociations');
    expect(JSON.stringify(synthTemplate(ready).findResources('AWS::ECS::Service'))).toContain(associations);
  });

  test('spot on an imported cluster, whose capacity providers are unknown, is a warning', () => {
    const stack = testStack();
    const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Imported', { clusterName: 'shared', vpc: new ec2.Vpc(stack, 'Net') });
    const { fleet: made } = fleet({ spot: true, cluster }, stack);
    Annotations.fromStack(stack).hasWarning(`/${made.node.path}`, Match.stringLikeRegexp('FARGATE_SPOT'));
  });

  test('a given cluster is used as is; scaling on it warns about Container Insights only where they are not known to be on', () => {
    const warned = (clusterProps: Partial<ecs.ClusterProps>, publisher: boolean) => {
      const stack = testStack();
      const cluster = new ecs.Cluster(stack, 'Shared', { vpc: new ec2.Vpc(stack, 'Net'), ...clusterProps });
      const { fleet: made, queue } = fleet({ cluster }, stack);
      new BacklogScaling(stack, 'Scaling', {
        fleet: made, queue, target: BacklogTarget.perWorker(10),
        publisher: publisher ? new BacklogPublisher(stack, 'Publisher', { fleet: made, queue }) : undefined,
      });
      synthTemplate(stack).resourceCountIs('AWS::ECS::Cluster', 1);
      return Annotations.fromStack(stack).findWarning(`/${made.node.path}`, Match.stringLikeRegexp('Container Insights')).length > 0;
    };
    expect(warned({}, false)).toBe(true);
    expect(warned({ containerInsightsV2: ecs.ContainerInsights.ENABLED }, false)).toBe(false);
    expect(warned({ containerInsightsV2: ecs.ContainerInsights.ENHANCED }, false)).toBe(false);
    expect(warned({ containerInsights: true }, false)).toBe(false);
    // The publisher counts running workers itself.
    expect(warned({}, true)).toBe(false);
  });

  test('with the publisher scaling, the monitoring still reads Container Insights on a given cluster and warns where they are not known to be on', () => {
    const stack = testStack();
    const cluster = new ecs.Cluster(stack, 'Shared', { vpc: new ec2.Vpc(stack, 'Net') });
    const agents = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute: AgentCompute.fargate({ cluster }) });
    expect(agents.publisher).toBeDefined();
    synthTemplate(stack);
    Annotations.fromStack(stack).hasWarning('/TestStack/Agents/Fleet', Match.stringLikeRegexp('workers-not-starting alarm .*Container Insights is enabled on this cluster'));
  });

  test('metricRunningWorkers is Container Insights RunningTaskCount of the service', () => {
    const { fleet: made } = fleet();
    const metric = made.metricRunningWorkers();
    expect(metric.namespace).toBe('ECS/ContainerInsights');
    expect(metric.metricName).toBe('RunningTaskCount');
    expect(Object.keys(metric.dimensions!)).toEqual(['ClusterName', 'ServiceName']);
    expect(made.metricDesiredWorkers().metricName).toBe('DesiredTaskCount');
  });

  describe('validation', () => {
    test.each([
      [{ cpu: 300 }, /cpu: must be one of 256, 512, 1024, 2048, 4096, 8192, 16384, got 300/],
      [{ cpu: 256, memoryLimitMiB: 4096 }, /memoryLimitMiB: must be a size Fargate offers for cpu 256: .*, got 4096/],
      [{ cpu: 8192, memoryLimitMiB: 18432 }, /memoryLimitMiB: must be a size Fargate offers for cpu 8192: .*, got 18432/],
      [{ stopTimeout: Duration.seconds(180) }, /stopTimeout: must be 2-120 seconds, got 180 seconds/],
      [{ drainDeadline: Duration.seconds(120) }, /drainDeadline: must be > 0 and < stopTimeout \(120 seconds\).*got 120 seconds/],
      [{ stopTimeout: Duration.seconds(30), drainDeadline: Duration.seconds(45) }, /drainDeadline: must be > 0 and < stopTimeout \(30 seconds\).*got 45 seconds/],
      [{ handlerTimeout: Duration.hours(13) }, /handlerTimeout: must be 1-43200 seconds, got 46800 seconds/],
      [{ minWorkers: 5, maxWorkers: 2 }, /minWorkers: must be <= maxWorkers \(2\), got 5/],
      [{ maxWorkers: 0 }, /maxWorkers: must be an integer 1-10000, got 0/],
      [{ minWorkers: 1.5 }, /minWorkers: must be an integer 0-10000, got 1.5/],
      [{ concurrency: 0 }, /concurrency: must be an integer 1-1000, got 0/],
      [{ environment: { QUEUE_URL: 'https://elsewhere' } }, /environment.QUEUE_URL: must be unset: the fleet sets it from its props, got https:\/\/elsewhere/],
      [{ taskProtectionExpiry: Duration.days(3) }, /taskProtectionExpiry \(minutes\): must be an integer 1-2880, got 4320/],
      [{ taskProtectionExpiry: Duration.minutes(2) }, /taskProtectionExpiry: must be >= handlerTimeout \(300 seconds\).*got 120 seconds/],
      [{ workerStartTime: Duration.hours(2) }, /workerStartTime: must be 1-3600 seconds, got 7200 seconds/],
      [{ workerStartTime: Duration.seconds(0) }, /workerStartTime: must be 1-3600 seconds, got 0 seconds/],
      [{ workerStartTime: Duration.millis(1500) }, /workerStartTime: must be a whole number of seconds, got 1.5 seconds/],
      [{ onDemandBaseWorkers: 1 }, /onDemandBaseWorkers: must be 0 unless spot is true, got 1/],
      [{ spot: true, onDemandBaseWorkers: 11 }, /onDemandBaseWorkers: must be an integer 0-10 \(maxWorkers\), got 11/],
    ])('%o is an error naming the path, prop, range and value', (props, message) => {
      expect(() => fleet(props as Partial<FargateAgentFleetProps>)).toThrow(message);
      expect(() => fleet(props as Partial<FargateAgentFleetProps>)).toThrow(/^TestStack\/Fleet: invalid configuration/);
    });

    test('maxWorkers beyond the IP addresses of the subnets is an error', () => {
      // Two /28 private subnets: 2 x (16 - 5 reserved) = 22 addresses.
      const smallVpc = (stack: Stack) => new ec2.Vpc(stack, 'Small', {
        maxAzs: 2,
        subnetConfiguration: [
          { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 28 },
          { name: 'Workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 28 },
        ],
      });
      const crowded = testStack();
      expect(() => fleet({ vpc: smallVpc(crowded), maxWorkers: 23 }, crowded))
        .toThrow(/maxWorkers: must be <= 22, the IP addresses left in the workers' subnets, got 23/);
      const fitting = testStack();
      expect(() => fleet({ vpc: smallVpc(fitting), maxWorkers: 22 }, fitting)).not.toThrow();
    });

    test.each([[256, 512], [512, 4096], [4096, 30720], [16384, 122880]])('cpu %d with memory %d is a Fargate size', (cpu, memoryLimitMiB) => {
      expect(() => fleet({ cpu, memoryLimitMiB })).not.toThrow();
    });
  });
});
