import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AgentImage, AgentQueue, Ec2AgentFleet, type Ec2AgentFleetProps } from '../../lib';
import { AdjustmentType } from '../../lib/policy/steps';
import { DEFAULT_PARAMS } from '../../lib/simulation/params';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

function fleet(props: Partial<Ec2AgentFleetProps> = {}, stack: Stack = testStack()) {
  const queue = new AgentQueue(stack, 'Tasks');
  const made = new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, ...props });
  return { stack, fleet: made, template: synthTemplate(stack) };
}

/** The launch template's user data, with CloudFormation functions reduced to placeholders. */
function userData(template: Template): string {
  const [[, lt]] = resourcesOf(template, 'AWS::EC2::LaunchTemplate');
  const joined = lt.Properties.LaunchTemplateData.UserData['Fn::Base64'];
  const parts: unknown[] = typeof joined === 'string' ? [joined] : joined['Fn::Join'][1];
  return parts.map((p) => (typeof p === 'string' ? p : '${token}')).join('');
}

/**
 * Runs the boot unit's script from the user data with stand-ins for curl (IMDS answering
 * `targetState`, or nothing), docker, systemctl, aws and sleep, and returns every call they got.
 */
function runLaunchScript(script: string, targetState: string | undefined, options: { failPull?: boolean } = {}): { status: number | null; calls: string[] } {
  const body = /cat > \/usr\/local\/bin\/agent-worker-launch <<'SCRIPT'\n([\s\S]*?)\nSCRIPT\n/.exec(script)?.[1];
  if (!body) throw new Error('no launch script in the user data');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'launch-'));
  const log = path.join(dir, 'calls');
  const stub = (name: string, behaviour = '') => fs.writeFileSync(path.join(dir, name), `#!/bin/bash\necho "${name} $*" >> ${log}\n${behaviour}\n`, { mode: 0o755 });
  stub('curl', [
    'case "$*" in',
    '  *api/token*) echo t ;;',
    `  *target-lifecycle-state*) ${targetState === undefined ? 'exit 22' : `echo '${targetState}'`} ;;`,
    '  *instance-id*) echo i-0123456789abcdef0 ;;',
    'esac',
  ].join('\n'));
  stub('docker', `[ "$1" = inspect ] && echo "true 2026-11-28T00:00:00Z"; [ "$1" = pull ] && exit ${options.failPull ? 1 : 0}; exit 0`);
  for (const name of ['systemctl', 'aws', 'sleep', 'cloud-init']) stub(name);
  const scriptPath = path.join(dir, 'launch');
  // CloudFormation puts the region where the user data has a token.
  fs.writeFileSync(scriptPath, body.replaceAll('${token}', 'us-east-1'), { mode: 0o755 });
  const run = spawnSync('bash', [scriptPath], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, encoding: 'utf8' });
  const calls = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter((c) => !c.startsWith('curl')) : [];
  fs.rmSync(dir, { recursive: true, force: true });
  return { status: run.status, calls };
}

function instanceStatements(template: Template): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const [[, policy]] = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('FleetInstanceRole'));
  return policy.Properties.PolicyDocument.Statement;
}

describe('Ec2AgentFleet', () => {
  test('launch template: Amazon Linux 2023, IMDSv2 required, no public IP, encrypted root volume', () => {
    const { template } = fleet();
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 2 },
        NetworkInterfaces: [Match.objectLike({ AssociatePublicIpAddress: false })],
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 30, VolumeType: 'gp3' } }],
        InstanceType: 't3.medium',
      }),
    });
    const params = template.toJSON().Parameters as Record<string, { Default: string }>;
    expect(Object.values(params).map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-x86_64');
  });

  test('user data installs Docker and runs the image under a systemd unit with the worker contract', () => {
    const { template } = fleet({ stopTimeout: Duration.seconds(90) });
    const script = userData(template);
    expect(script).toContain('dnf install -y docker');
    expect(script).toContain("ExecStartPre=/bin/sh -c 'docker pull public.ecr.aws/docker/library/node:20-alpine'");
    expect(script).toMatch(/ExecStart=\/usr\/bin\/docker run --rm --name agent-worker --env-file \/etc\/agent-fleet\/agent.env --log-driver awslogs/);
    expect(script).toContain('ExecStop=/usr/bin/docker stop --time 90 agent-worker');
    expect(script).toContain('Restart=always');
    expect(script).toMatch(/QUEUE_URL=\$\{token\}/);
    expect(script).toContain('AGENT_DRAIN_DEADLINE_SECONDS=80');
    expect(script).toContain('AGENT_STOP_TIMEOUT_SECONDS=90');
    expect(script).toContain('AGENT_LIFECYCLE_HOOK_NAME=agent-drain');
    expect(script).toMatch(/AGENT_AUTO_SCALING_GROUP_NAME=TestStackFleet/);
    expect(script).not.toContain('docker login');
  });

  test('an instance counts only once its worker runs: a launch hook that the boot unit completes after 30 s of a running container', () => {
    const { template } = fleet({ minWorkers: 1 });
    // On the group itself, so it holds the instances launched with the group too.
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: [{
        LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
        LifecycleHookName: 'agent-launch',
        HeartbeatTimeout: 600,
        DefaultResult: 'ABANDON',
      }],
    });
    const script = userData(template);
    expect(script).toContain('ExecStart=/usr/local/bin/agent-worker-launch');
    expect(script).toContain('systemctl enable agent-worker-launch.service');
    // The worker unit itself is started by the boot unit only, never at boot on its own.
    expect(script).not.toContain('systemctl enable --now agent-worker.service');
    const run = runLaunchScript(script, 'InService');
    expect(run.status).toBe(0);
    expect(run.calls.filter((c) => c.startsWith('docker inspect')).length).toBeGreaterThanOrEqual(7);
    expect(run.calls).toContain('systemctl start agent-worker.service');
    expect(run.calls.at(-1)).toMatch(/^aws autoscaling complete-lifecycle-action --region us-east-1 --lifecycle-hook-name agent-launch --auto-scaling-group-name TestStackFleet\S* --instance-id i-0123456789abcdef0 --lifecycle-action-result CONTINUE$/);
  });

  test('warm pool: stopped instances reused on scale-in; going into it an instance pulls the image and never runs the worker', () => {
    const { template, fleet: made } = fleet({ maxWorkers: 12 });
    template.hasResourceProperties('AWS::AutoScaling::WarmPool', {
      AutoScalingGroupName: Match.anyValue(), PoolState: 'Stopped', InstanceReusePolicy: { ReuseOnScaleIn: true },
    });
    expect(made.workerStartTime.toSeconds()).toBe(60);
    const script = userData(template);
    const pooled = runLaunchScript(script, 'Warmed:Stopped');
    expect(pooled.status).toBe(0);
    expect(pooled.calls).toContain('docker pull public.ecr.aws/docker/library/node:20-alpine');
    // User data finishes before the hook lets the group stop the instance.
    expect(pooled.calls.indexOf('cloud-init status --wait')).toBe(pooled.calls.length - 2);
    expect(pooled.calls.some((c) => c.startsWith('systemctl start'))).toBe(false);
    expect(pooled.calls.at(-1)).toMatch(/--lifecycle-hook-name agent-launch .* --lifecycle-action-result CONTINUE$/);
    // An image that cannot be pulled leaves the hook to time out: the group abandons the instance.
    const failed = runLaunchScript(script, 'Warmed:Stopped', { failPull: true });
    expect(failed.status).not.toBe(0);
    expect(failed.calls.some((c) => c.includes('complete-lifecycle-action'))).toBe(false);
    // A target state that never reads runs the worker (after two minutes of tries).
    const unread = runLaunchScript(script, undefined);
    expect(unread.calls.filter((c) => c.startsWith('sleep 2')).length).toBe(60);
    expect(unread.calls).toContain('systemctl start agent-worker.service');
  });

  test('the pool can be capped through its CloudFormation resource, as the README shows', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const made = new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, maxWorkers: 100 });
    (made.warmPool!.node.defaultChild as autoscaling.CfnWarmPool).maxGroupPreparedCapacity = 30;
    synthTemplate(stack).hasResourceProperties('AWS::AutoScaling::WarmPool', { MaxGroupPreparedCapacity: 30, PoolState: 'Stopped' });
  });

  test('without a warm pool (warmPool: false, or spot) a new instance takes 60-180 s; warmPool with spot is an error', () => {
    for (const props of [{ warmPool: false }, { spot: true }]) {
      const { template, fleet: made } = fleet(props);
      expect(Object.keys(template.findResources('AWS::AutoScaling::WarmPool'))).toHaveLength(0);
      expect(made.workerStartTime.toSeconds()).toBe(180);
    }
    expect(() => fleet({ spot: true, warmPool: true }))
      .toThrow(/warmPool: must be false or unset with spot \(EC2 Auto Scaling takes no warm pool on a group that launches Spot instances\), got true/);
  });

  test('a worker that keeps failing marks its instance unhealthy, so the group replaces it', () => {
    const script = userData(fleet().template);
    expect(script).toContain('StartLimitIntervalSec=600');
    expect(script).toContain('StartLimitBurst=20');
    expect(script).toContain('OnFailure=agent-worker-unhealthy.service');
    expect(script).toMatch(/ExecStart=\/usr\/bin\/aws autoscaling set-instance-health --region \$\{token\} --instance-id \$\{INSTANCE_ID\} --health-status Unhealthy/);
    const statements = instanceStatements(fleet().template);
    const health = statements.find((st) => [st.Action].flat().includes('autoscaling:SetInstanceHealth'))!;
    expect(JSON.stringify(health.Resource)).toMatch(/:autoScalingGroup:\*:autoScalingGroupName\/TestStackFleet/);
  });

  test('workerStartTimeout sets the launch hook; outside 30 s-2 h it is an error', () => {
    fleet({ workerStartTimeout: Duration.minutes(20) }).template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      LifecycleHookSpecificationList: [Match.objectLike({ LifecycleHookName: 'agent-launch', HeartbeatTimeout: 1200 })],
    });
    expect(() => fleet({ workerStartTimeout: Duration.seconds(10) })).toThrow(/workerStartTimeout: must be an integer 30-7200, got 10/);
  });

  test('rootVolumeGiB sizes the encrypted gp3 root volume; below the default AMI\'s 8 GiB snapshot, fractional or beyond gp3\'s 16,384 it is an error naming the construct', () => {
    fleet({ rootVolumeGiB: 16 }).template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 16, VolumeType: 'gp3' } }] }),
    });
    expect(() => fleet({ rootVolumeGiB: 4 })).toThrow(/TestStack\/Fleet: invalid configuration[\s\S]*rootVolumeGiB: must be an integer 8-16384, got 4/);
    expect(() => fleet({ rootVolumeGiB: 20.5 })).toThrow(/rootVolumeGiB: must be an integer 8-16384, got 20.5/);
    expect(() => fleet({ rootVolumeGiB: 20_000 })).toThrow(/rootVolumeGiB: must be an integer 8-16384, got 20000/);
    // Your own AMI's snapshot is not known at synth: EC2 checks it at launch.
    const own = fleet({ rootVolumeGiB: 4, machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }) });
    own.template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 4 }) })] }),
    });
    expect(() => fleet({ rootVolumeGiB: 0, machineImage: ec2.MachineImage.genericLinux({ 'us-east-1': 'ami-0123456789abcdef0' }) }))
      .toThrow(/rootVolumeGiB: must be an integer 1-16384, got 0/);
  });

  test('an image in ECR is pulled after a login on every start of the unit', () => {
    const stack = testStack();
    const repository = ecr.Repository.fromRepositoryName(stack, 'Repo', 'agents');
    const { template } = fleet({ image: AgentImage.fromEcrRepository(repository, 'v1') }, stack);
    const script = userData(template);
    expect(script).toMatch(/ExecStartPre=\/bin\/sh -c 'aws ecr get-login-password --region \$\{token\} \| docker login --username AWS --password-stdin \$\{token\}'/);
    expect(script).toMatch(/ExecStartPre=\/bin\/sh -c 'docker pull \$\{token\}\.dkr\.ecr\.\S+\/agents:v1'/);
    const [[, policy]] = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('FleetInstanceRole'));
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toContain('ecr:BatchGetImage');
  });

  test('group: private subnets, group metrics, bounds, termination lifecycle hook for draining', () => {
    const { template } = fleet({ minWorkers: 1, maxWorkers: 7 });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MinSize: '1', MaxSize: '7',
      MetricsCollection: [{ Granularity: '1Minute' }],
      AutoScalingGroupName: Match.stringLikeRegexp('^TestStackFleet'),
      // The warm-up the simulator executes on EC2: what is deployed is what is simulated.
      DefaultInstanceWarmup: DEFAULT_PARAMS.worker.instanceWarmupSeconds,
    });
    expect(DEFAULT_PARAMS.worker.instanceWarmupSeconds).toBe(60);
    template.hasResourceProperties('AWS::AutoScaling::LifecycleHook', {
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      LifecycleHookName: 'agent-drain',
      HeartbeatTimeout: 180,
      DefaultResult: 'CONTINUE',
    });
  });

  test('the instance role completes only its own group\'s lifecycle actions, writes its logs, consumes its queue', () => {
    const { template } = fleet();
    const [[, policy]] = resourcesOf(template, 'AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('FleetInstanceRole'));
    const statements = policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[];
    const complete = statements.find((s) => [s.Action].flat().includes('autoscaling:CompleteLifecycleAction'))!;
    expect(JSON.stringify(complete.Resource)).toMatch(/:autoScalingGroup:\*:autoScalingGroupName\/TestStackFleet/);
    expect(statements.some((s) => Array.isArray(s.Action) && s.Action.includes('logs:PutLogEvents'))).toBe(true);
    expect(statements.some((s) => Array.isArray(s.Action) && s.Action.includes('sqs:ReceiveMessage'))).toBe(true);
  });

  test('with a warm pool, a launch template change refreshes the instances, those in the pool too, waiting for busy ones', () => {
    const [group] = Object.values(fleet({ minWorkers: 2, maxWorkers: 10 }).template.findResources('AWS::AutoScaling::AutoScalingGroup'));
    expect(group.UpdatePolicy.AutoScalingInstanceRefresh).toEqual({ Strategy: 'Rolling', Preferences: { ScaleInProtectedInstances: 'Wait' } });
    expect(group.UpdatePolicy.AutoScalingRollingUpdate).toBeUndefined();
  });

  test('without a warm pool, a launch template change rolls the group in quarters, scaling and health replacement suspended, the floor kept in service', () => {
    const { template } = fleet({ minWorkers: 2, maxWorkers: 10, warmPool: false });
    const [[, group]] = Object.entries(template.findResources('AWS::AutoScaling::AutoScalingGroup')) as [string, { UpdatePolicy: Record<string, unknown> }][];
    expect(group.UpdatePolicy.AutoScalingRollingUpdate).toEqual({
      MaxBatchSize: 3,
      MinInstancesInService: 2,
      SuspendProcesses: ['HealthCheck', 'ReplaceUnhealthy', 'AZRebalance', 'AlarmNotification', 'ScheduledActions'],
    });
    const fixed = fleet({ minWorkers: 4, maxWorkers: 4, warmPool: false }).template.findResources('AWS::AutoScaling::AutoScalingGroup');
    // CloudFormation requires MinInstancesInService below MaxSize.
    expect(Object.values(fixed)[0].UpdatePolicy.AutoScalingRollingUpdate).toMatchObject({ MaxBatchSize: 1, MinInstancesInService: 3 });
  });

  test('spot uses a mixed instances policy, all Spot, with capacity rebalancing', () => {
    const { template } = fleet({ spot: true, spotInstanceTypes: [new ec2.InstanceType('t3.medium'), new ec2.InstanceType('t3a.medium')] });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      CapacityRebalance: true,
      MixedInstancesPolicy: {
        InstancesDistribution: { OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' },
        LaunchTemplate: Match.objectLike({ Overrides: [{ InstanceType: 't3.medium' }, { InstanceType: 't3a.medium' }] }),
      },
    });
  });

  test('spot with an on-demand base: the first instances on demand, every one above them Spot', () => {
    fleet({ spot: true, onDemandBaseWorkers: 2 }).template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      MixedInstancesPolicy: Match.objectLike({
        InstancesDistribution: { OnDemandBaseCapacity: 2, OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'price-capacity-optimized' },
      }),
    });
  });

  test('busy workers protect their own instance from scale-in: the contract variable and SetInstanceProtection on the one group', () => {
    const { template } = fleet();
    expect(userData(template)).toContain('AGENT_INSTANCE_PROTECTION=true');
    const protect = instanceStatements(template).find((st) => [st.Action].flat().includes('autoscaling:SetInstanceProtection'))!;
    expect(JSON.stringify(protect.Resource)).toMatch(/:autoScalingGroup:\*:autoScalingGroupName\/TestStackFleet/);
    const off = fleet({ instanceProtection: false }).template;
    expect(userData(off)).not.toContain('AGENT_INSTANCE_PROTECTION');
    expect(JSON.stringify(instanceStatements(off))).not.toContain('SetInstanceProtection');
    // Protected new instances with nobody to drop the protection would never scale in.
    expect(() => fleet({ instanceProtection: false, newInstancesProtectedFromScaleIn: true }))
      .toThrow(/newInstancesProtectedFromScaleIn: must be false when instanceProtection is false \(nothing would ever drop the protection\), got true/);
  });

  test('step policies take the fleet\'s instance warm-up: EC2 Auto Scaling step policies have no cooldown', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    const made = new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, instanceWarmup: Duration.seconds(240) });
    made.addStepScaling(stack, 'Steps', { adjustmentType: AdjustmentType.CHANGE_IN_CAPACITY, steps: [{ lower: 0, change: 1 }], cooldown: Duration.seconds(60) });
    Template.fromStack(stack).hasResourceProperties('AWS::AutoScaling::ScalingPolicy', { PolicyType: 'StepScaling', EstimatedInstanceWarmup: 240 });
  });

  test('scale-in protection and notifications are options', () => {
    const stack = testStack();
    const topic = new sns.Topic(stack, 'Ops');
    const { template } = fleet({ newInstancesProtectedFromScaleIn: true, notificationsTopic: topic }, stack);
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      NewInstancesProtectedFromScaleIn: true,
      NotificationConfigurations: [Match.objectLike({ TopicARN: { Ref: Match.stringLikeRegexp('Ops') } })],
    });
  });

  test('an Arm instance type gets the Arm AMI', () => {
    const { template } = fleet({ instanceType: new ec2.InstanceType('m7g.large') });
    const params = template.toJSON().Parameters as Record<string, { Default: string }>;
    expect(Object.values(params).map((p) => p.Default)).toContain('/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-6.1-arm64');
  });

  test('metricRunningWorkers is the group\'s GroupInServiceInstances', () => {
    const { fleet: made } = fleet();
    expect(made.metricRunningWorkers().namespace).toBe('AWS/AutoScaling');
    expect(made.metricRunningWorkers().metricName).toBe('GroupInServiceInstances');
    expect(made.metricDesiredWorkers().metricName).toBe('GroupDesiredCapacity');
  });

  describe('validation', () => {
    test.each([
      ['hook timeout below the drain deadline', { lifecycleHookTimeout: Duration.seconds(60) }, /drainDeadline: must be < lifecycleHookTimeout \(60 seconds\).*got 110 seconds/],
      ['hook timeout above 2 h', { lifecycleHookTimeout: Duration.hours(3) }, /lifecycleHookTimeout: must be an integer 30-7200, got 10800/],
      ['hook timeout below 30 s', { stopTimeout: Duration.seconds(10), drainDeadline: Duration.seconds(5), lifecycleHookTimeout: Duration.seconds(20) }, /lifecycleHookTimeout: must be an integer 30-7200, got 20/],
      ['drain deadline at the stop timeout', { stopTimeout: Duration.seconds(60), drainDeadline: Duration.seconds(60) }, /drainDeadline: must be > 0 and < stopTimeout \(60 seconds\)/],
      ['Spot types without spot', { spotInstanceTypes: [new ec2.InstanceType('t3.medium')] }, /spotInstanceTypes: must be unset unless spot is true, got t3.medium/],
      ['Spot types without the instance type', { spot: true, spotInstanceTypes: [new ec2.InstanceType('t3a.medium')] },
        /spotInstanceTypes: must be a list that includes instanceType \(t3.medium\), got t3a.medium/],
      ['Spot types of another architecture than the AMI', { spot: true, spotInstanceTypes: [new ec2.InstanceType('t3.medium'), new ec2.InstanceType('t4g.medium')] },
        /spotInstanceTypes: must be instance types of instanceType's architecture \(x86_64\), the AMI's, got t4g.medium \(arm64\)/],
      ['an on-demand base without spot', { onDemandBaseWorkers: 1 }, /onDemandBaseWorkers: must be 0 unless spot is true, got 1/],
    ])('%s is an error naming the path, prop, range and value', (_name, props, message) => {
      expect(() => fleet(props)).toThrow(message);
    });

    test('EC2 has no 120 s cap on the stop timeout', () => {
      expect(() => fleet({ stopTimeout: Duration.minutes(10) })).not.toThrow();
    });
  });
});
