/**
 * A newcomer's first hour: each test composes the constructs the way a new user would and checks
 * what they see — it works, or fails with the library's usual error naming path, prop and value.
 */
import { CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as sns from 'aws-cdk-lib/aws-sns';
import {
  AgentCompute, AgentQueue, BacklogMetricSource, BacklogScaling, BacklogTarget, EC2_DEFAULTS, Ec2AgentFleet, ElasticAgentFleet,
  defaultScaleInCooldownSeconds, FARGATE_DEFAULTS, FargateAgentFleet, FLEET_DEFAULTS, SCALING_DEFAULTS, WORKER_DEFAULTS, type ElasticAgentFleetProps,
} from '../lib';
import { resourcesOf, TEST_IMAGE, testStack } from './support/cdk';

function agents(props: Partial<ElasticAgentFleetProps> = {}, stack: Stack = testStack()) {
  const made = new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, ...props });
  return { stack, agents: made, template: () => Template.fromStack(stack) };
}

function containerEnv(template: Template): Record<string, unknown> {
  const [[, taskDef]] = resourcesOf(template, 'AWS::ECS::TaskDefinition');
  return Object.fromEntries(taskDef.Properties.ContainerDefinitions[0].Environment.map((e: { Name: string; Value: unknown }) => [e.Name, e.Value]));
}

function userData(template: Template): string {
  const [[, lt]] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
  return JSON.stringify(lt.Properties.LaunchTemplateData.UserData);
}

const number = (stack: Stack, id: string) => new CfnParameter(stack, id, { type: 'Number' }).valueAsNumber;

describe('1. latency goals under a minute', () => {
  test('fromLatency with 30 s works with monitoring; the oldest-task alarm fires above 30 s', () => {
    const { template } = agents({ target: BacklogTarget.fromLatency({ acceptableLatency: Duration.seconds(30), processingTime: Duration.seconds(2) }) });
    template().hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 30 });
  });
});

describe('3. values from a CfnParameter', () => {
  test('maxWorkers and minWorkers pass through to the scalable target and the saturation alarm', () => {
    const stack = testStack();
    const { template } = agents({ minWorkers: number(stack, 'Min'), maxWorkers: number(stack, 'Max') }, stack);
    const t = template();
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: { Ref: 'Min' }, MaxCapacity: { Ref: 'Max' } });
    expect(JSON.stringify(t.findResources('AWS::CloudWatch::Alarm'))).toMatch(/"Ref":"Max"/);
    expect(JSON.stringify(t.toJSON())).not.toMatch(/e\+289/);
    const ec2Stack = testStack();
    const ec2Template = agents({ compute: AgentCompute.ec2(), minWorkers: number(ec2Stack, 'Min'), maxWorkers: number(ec2Stack, 'Max') }, ec2Stack).template();
    ec2Template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: { Ref: 'Min' }, MaxSize: { Ref: 'Max' } });
    expect(JSON.stringify(ec2Template.toJSON())).not.toMatch(/e\+289/);
  });

  test('handlerTimeout passes through to the container (the queue\'s visibility does not depend on it)', () => {
    const stack = testStack();
    const { template } = agents({ handlerTimeout: Duration.seconds(number(stack, 'Handler')) }, stack);
    expect(containerEnv(template())).toMatchObject({ AGENT_HANDLER_TIMEOUT_SECONDS: { Ref: 'Handler' } });
  });

  test.each([
    ['concurrency', (s: Stack) => ({ concurrency: number(s, 'P') }), /- concurrency: must be a value known at synth \(scaling divides in-flight messages by it/],
    ['cpu', (s: Stack) => ({ compute: AgentCompute.fargate({ cpu: number(s, 'P') }) }), /- compute\.cpu: must be a value known at synth/],
    ['stopTimeout', (s: Stack) => ({ compute: AgentCompute.ec2({ stopTimeout: Duration.seconds(number(s, 'P')) }) }), /- compute\.stopTimeout: must be a value known at synth/],
    ['workerStartTime', (s: Stack) => ({ compute: AgentCompute.fargate({ workerStartTime: Duration.seconds(number(s, 'P')) }) }), /- compute\.workerStartTime: must be a value known at synth \(the burst signal's metric math/],
  ])('%s as a token is refused by name where it is computed with', (_prop, props, message) => {
    const stack = testStack();
    expect(() => agents(props(stack), stack)).toThrow(message);
  });
});

describe('4. concurrency has one source of truth', () => {
  test('the fleet\'s concurrency feeds a latency target: 1 min / 6 s x 16 = 160', () => {
    const { agents: made } = agents({ concurrency: 16, target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6) }) });
    expect(made.scaling.model.targetBacklogPerWorker).toBe(160);
  });

  test('a target given a different concurrency than the fleet\'s is warned about', () => {
    const { stack } = agents({ concurrency: 16, target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6), concurrency: 8 }) });
    Annotations.fromStack(stack).hasWarning('/TestStack/Agents/Scaling', Match.stringLikeRegexp('target\'s concurrency \\(8\\) differs from the fleet\'s \\(16\\)'));
  });
});

describe('5. burst steps', () => {
  test('steps that do not start at 0 are refused: a small backlog would never leave zero', () => {
    expect(() => agents({ scaling: { burstSteps: [{ lower: 10, upper: 100, change: 2 }, { lower: 100, change: 10 }] } }))
      .toThrow(/- scaling\.burstSteps\[0\]\.lower: must be 0 or unset \(the first step starts where the alarm fires\), got 10/);
  });
});

describe('6. props without effect', () => {
  test.each([
    ['publisherPeriod with metric math', () => agents({ metricSource: BacklogMetricSource.METRIC_MATH, publisherPeriod: Duration.seconds(30) }),
      /- publisherPeriod: must be unset unless the backlog publisher runs \(metricSource PUBLISHER, the default on Fargate and EC2\), got 30 seconds/],
    ['alarmTopic without monitoring', () => {
      const stack = testStack();
      return agents({ monitoring: false, alarmTopic: new sns.Topic(stack, 'Topic') }, stack);
    }, /- alarmTopic: must be unset when monitoring is false/],
    ['scaleToZeroAfter with minWorkers 1', () => agents({ minWorkers: 1, scaling: { scaleToZeroAfter: Duration.minutes(5) } }),
      /- scaling\.scaleToZeroAfter: must be unset when minWorkers is above 0 \(1\)/],
    ['spotInstanceTypes without spot', () => agents({ compute: AgentCompute.ec2({ spotInstanceTypes: [new ec2.InstanceType('m7g.large')] }) }),
      /- compute\.spotInstanceTypes: must be unset unless spot is true/],
    ['vpc together with cluster', () => {
      const stack = testStack();
      const vpc = new ec2.Vpc(stack, 'Net');
      return agents({ vpc, compute: AgentCompute.fargate({ cluster: new ecs.Cluster(stack, 'Cluster', { vpc }) }) }, stack);
    }, /- vpc: must be unset when `cluster` is given/],
  ])('%s is refused', (_case, make, message) => {
    expect(make).toThrow(message);
  });
});

describe('7. validation across the parts', () => {
  test('every problem of an ElasticAgentFleet in one error, props named in place', () => {
    const make = () => agents({
      maxWorkers: 0,
      concurrency: 0,
      compute: AgentCompute.fargate({ stopTimeout: Duration.seconds(180), cpu: 300 }),
      queueProps: { maxReceiveCount: 0, retentionPeriod: Duration.days(20) },
      metricSource: BacklogMetricSource.PUBLISHER,
      publisherPeriod: Duration.seconds(15),
      scaling: { burstSteps: [{ lower: 10, change: 2 }], scaleInCooldown: Duration.days(2) },
    });
    expect(make).toThrow(/^TestStack\/Agents: invalid configuration \(\d+ problems\)/);
    const message = (() => {
      try {
        make();
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    })();
    for (const prop of ['maxWorkers', 'concurrency', 'compute.stopTimeout', 'compute.cpu', 'queueProps.maxReceiveCount',
      'queueProps.retentionPeriod', 'publisherPeriod', 'scaling.burstSteps[0].lower', 'scaling.scaleInCooldown']) {
      expect(message).toContain(`\n  - ${prop}: must be`);
    }
  });

  test('an isolated-only VPC is an error with the path and vpcSubnets', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Isolated', { subnetConfiguration: [{ name: 'Only', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    expect(() => agents({ vpc }, stack)).toThrow(/^TestStack\/Agents: invalid configuration[^]*- vpcSubnets: must be subnets the VPC has/);
    expect(() => new Ec2AgentFleet(stack, 'Ec2', { vpc, queue: new AgentQueue(stack, 'Q'), image: TEST_IMAGE }))
      .toThrow(/^TestStack\/Ec2: invalid configuration[^]*- vpcSubnets:/);
  });
});

describe('8. adding one\'s own scaling', () => {
  test('service.autoScaleTaskCount points to the fleet\'s scalable target, which takes more policies', () => {
    const { agents: made, template } = agents();
    const fleet = made.fargateFleet!;
    expect(() => fleet.service.autoScaleTaskCount({ maxCapacity: 5 })).toThrow(/TestStack\/Agents\/Fleet\/Service: the fleet already scales[^]*scalableTarget/);
    fleet.scalableTarget.scaleOnSchedule('Nightly', { schedule: appscaling.Schedule.cron({ hour: '22', minute: '0' }), maxCapacity: 2 });
    const t = template();
    t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 1);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ScheduledActions: [Match.objectLike({ ScheduledActionName: 'Nightly' })] });
  });
});

describe('10. knobs', () => {
  test('command and entryPoint run a script on a stock image, on Fargate and on EC2', () => {
    const knobs = { command: ['agent.js', '--mode', '100% $HOME'], entryPoint: ['node', '--enable-source-maps'] };
    const fargate = agents(knobs).template();
    fargate.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Command: knobs.command, EntryPoint: knobs.entryPoint })],
    });
    const ec2Data = userData(agents({ ...knobs, compute: AgentCompute.ec2() }).template());
    expect(ec2Data).toContain('--entrypoint \\"node\\" public.ecr.aws/docker/library/node:20-alpine \\"--enable-source-maps\\" \\"agent.js\\" \\"--mode\\" \\"100%% $$HOME\\"');
  });

  test('Fargate: ECS Exec, security groups, health check, minHealthyPercent, tags, storage, platform version', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Net');
    const group = new ec2.SecurityGroup(stack, 'Db', { vpc });
    const { template } = agents({
      vpc,
      securityGroups: [group],
      compute: AgentCompute.fargate({
        enableExecuteCommand: true,
        healthCheck: { command: ['CMD-SHELL', 'test -f /tmp/alive'] },
        minHealthyPercent: 50,
        propagateTags: ecs.PropagatedTagSource.TASK_DEFINITION,
        ephemeralStorageGiB: 50,
        platformVersion: ecs.FargatePlatformVersion.VERSION1_4,
      }),
    }, stack);
    const t = template();
    t.hasResourceProperties('AWS::ECS::Service', {
      EnableExecuteCommand: true,
      PropagateTags: 'TASK_DEFINITION',
      PlatformVersion: '1.4.0',
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 50 }),
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ SecurityGroups: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^Db'), 'GroupId'] }] }) },
    });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      EphemeralStorage: { SizeInGiB: 50 },
      ContainerDefinitions: [Match.objectLike({ HealthCheck: Match.objectLike({ Command: ['CMD-SHELL', 'test -f /tmp/alive'] }) })],
    });
  });

  test('EC2: extra security groups join the launch template', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Net');
    const group = new ec2.SecurityGroup(stack, 'Db', { vpc });
    const t = agents({ vpc, securityGroups: [group], compute: AgentCompute.ec2() }, stack).template();
    const [[, lt]] = resourcesOf(t, 'AWS::EC2::LaunchTemplate');
    const groups = JSON.stringify(lt.Properties.LaunchTemplateData);
    expect(groups).toMatch(/"Fn::GetAtt":\["Db[0-9A-F]+","GroupId"\]/);
    expect(groups).toMatch(/"Fn::GetAtt":\["AgentsFleetSecurityGroup[0-9A-F]+","GroupId"\]/);
  });

  test('outputs are opt-in: queue URL and ARN, dead-letter queue, dashboard', () => {
    expect(Object.keys(agents().template().findOutputs('*'))).toEqual([]);
    const names = Object.keys(agents({ outputs: true }).template().findOutputs('*'));
    expect(names).toEqual([
      expect.stringMatching(/^AgentsQueueUrl/), expect.stringMatching(/^AgentsQueueArn/),
      expect.stringMatching(/^AgentsDeadLetterQueueUrl/), expect.stringMatching(/^AgentsDashboardName/),
    ]);
  });
});

describe('11. CDK conventions', () => {
  test.each([['fargate', AgentCompute.fargate(), FargateAgentFleet], ['ec2', AgentCompute.ec2(), Ec2AgentFleet]] as const)(
    '%s: typed access to the fleet, whose connections open a database port', (kind, compute, fleetClass) => {
      const stack = testStack();
      const vpc = new ec2.Vpc(stack, 'Net');
      const db = new ec2.SecurityGroup(stack, 'Db', { vpc });
      const { agents: made, template } = agents({ vpc, compute }, stack);
      const fleet = kind === 'fargate' ? made.fargateFleet! : made.ec2Fleet!;
      expect(fleet).toBeInstanceOf(fleetClass);
      expect(kind === 'fargate' ? made.ec2Fleet : made.fargateFleet).toBeUndefined();
      fleet.connections.allowTo(db, ec2.Port.tcp(5432));
      template().hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: 5432, GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Db'), 'GroupId'] } });
    });

  test('removal policies reach the queues, their key and the fleets\' logs', () => {
    const { agents: made, template } = agents({ queueProps: { encryptionKey: undefined }, metricSource: BacklogMetricSource.PUBLISHER });
    made.applyRemovalPolicy(RemovalPolicy.DESTROY);
    const t = template();
    for (const type of ['AWS::SQS::Queue']) {
      for (const [, r] of Object.entries(t.findResources(type))) expect(r.DeletionPolicy).toBe('Delete');
    }
    const fleetLogs = t.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 30 } });
    expect(Object.values(fleetLogs).some((r) => r.DeletionPolicy === 'Delete')).toBe(true);
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks', { encryptionKey: undefined, encryption: undefined, maxReceiveCount: 3 });
    queue.applyRemovalPolicy(RemovalPolicy.DESTROY);
    new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE }).applyRemovalPolicy(RemovalPolicy.DESTROY);
    const t2 = Template.fromStack(stack);
    for (const [, r] of Object.entries(t2.findResources('AWS::SQS::Queue'))) expect(r.DeletionPolicy).toBe('Delete');
  });

  test('every log group we create keeps logs for logRetention: the workers\', the flow logs\', the publisher\'s', () => {
    const t = agents({ logRetention: 7, metricSource: BacklogMetricSource.PUBLISHER }).template();
    const groups = Object.values(t.findResources('AWS::Logs::LogGroup'));
    expect(groups.length).toBe(3);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(7);
  });

  test('the defaults the docs mention are exported', () => {
    expect(FLEET_DEFAULTS.maxWorkers).toBe(10);
    expect(FARGATE_DEFAULTS).toMatchObject({ cpu: 512, memoryLimitMiB: 1024 });
    expect(EC2_DEFAULTS.instanceType).toBe('t3.medium');
    expect(WORKER_DEFAULTS.handlerTimeoutSeconds).toBe(300);
    expect(SCALING_DEFAULTS.scaleInAfterSeconds).toBe(120);
    expect([defaultScaleInCooldownSeconds(60), defaultScaleInCooldownSeconds(10)]).toEqual([180, 80]);
  });
});

describe('12. sizes and the EC2 environment', () => {
  test.each([
    [{ cpu: 1024 }, '1024', '2048'],
    [{ cpu: 256 }, '256', '512'],
    [{ memoryLimitMiB: 8192 }, '1024', '8192'],
    [{ memoryLimitMiB: 512 }, '256', '512'],
  ])('%o alone picks the smallest valid partner', (size, cpu, memory) => {
    agents({ compute: AgentCompute.fargate(size) }).template().hasResourceProperties('AWS::ECS::TaskDefinition', { Cpu: cpu, Memory: memory });
  });

  test('an invalid memory lists only the sizes valid for the given cpu', () => {
    expect(() => agents({ compute: AgentCompute.fargate({ cpu: 1024, memoryLimitMiB: 1000 }) }))
      .toThrow(/- compute\.memoryLimitMiB: must be a size Fargate offers for cpu 1024: 2048-8192 by 1024, got 1000$/);
  });

  test.each([
    [{ 'MY-VAR': 'x' }, /environment\.MY-VAR: must be a name of letters, digits and _/],
    [{ PROMPT: 'line one\nline two' }, /environment\.PROMPT: must be a value without line breaks/],
    [{ AWS_REGION: 'eu-west-1' }, /environment\.AWS_REGION: must be unset: the EC2 fleet sets it/],
  ])('the EC2 env file refuses %o instead of writing it wrong or overwriting it', (environment, message) => {
    expect(() => agents({ environment, compute: AgentCompute.ec2() })).toThrow(message);
  });

  test('ordinary values reach the EC2 env file literally', () => {
    const data = userData(agents({ environment: { MODEL: 'claude $HOME "q"' }, compute: AgentCompute.ec2() }).template());
    expect(data).toContain('MODEL=claude $HOME \\"q\\"');
  });
});

describe('13. errors point at the right prop', () => {
  test('a 13-hour handlerTimeout is reported on handlerTimeout, not on the queue', () => {
    const make = () => agents({ handlerTimeout: Duration.hours(13) });
    expect(make).toThrow(/- handlerTimeout: must be 1-43200 seconds, got 46800 seconds/);
    expect(make).not.toThrow(/visibilityTimeout/);
  });

  test.each([
    ['handlerTimeout', { handlerTimeout: Duration.millis(1500) }],
    ['scaling.scaleOutCooldown', { scaling: { scaleOutCooldown: Duration.millis(1500) } }],
    ['queueProps.visibilityTimeout', { queueProps: { visibilityTimeout: Duration.millis(361_500) } }],
  ])('a millisecond %s is an error with the path', (prop, props) => {
    expect(() => agents(props as Partial<ElasticAgentFleetProps>))
      .toThrow(new RegExp(`^TestStack/Agents: invalid configuration[^]*- ${prop.replace(/\./g, '\\.')}: must be a whole number of seconds`));
  });

  test('a composed BacklogScaling still checks on its own', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const fleet = new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
    expect(() => new BacklogScaling(stack, 'Scaling', { fleet, queue, target: BacklogTarget.perWorker(10), burstSteps: [{ lower: 5, change: 1 }] }))
      .toThrow(/^TestStack\/Scaling: invalid configuration \(1 problem\):\n {2}- burstSteps\[0\]\.lower/);
  });
});
