import { Duration, type Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  AgentCompute, AgentQueue, BacklogMetricSource, BacklogTarget, EksAgentFleet, ElasticAgentFleet, type EksAgentFleetProps,
} from '../../lib';
import { AGENT_ENV } from '../../lib/worker/contract';
import { kubernetesManifests, resourcesOf, TEST_IMAGE, testStack } from '../support/cdk';

/** An existing cluster, as most users pass it: imported, with its kubectl provider. */
function existingCluster(stack: Stack): eks.ICluster {
  return eks.Cluster.fromClusterAttributes(stack, 'Existing', {
    clusterName: 'agents-cluster',
    kubectlProvider: eks.KubectlProvider.fromKubectlProviderAttributes(stack, 'Kubectl', {
      serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl',
      role: iam.Role.fromRoleArn(stack, 'KubectlRole', 'arn:aws:iam::111111111111:role/kubectl'),
    }),
  });
}

function elastic(options: Parameters<typeof AgentCompute.eks>[0] = {}, props: { target?: BacklogTarget; stack?: Stack } = {}) {
  const stack = props.stack ?? testStack();
  const agents = new ElasticAgentFleet(stack, 'Agents', {
    image: TEST_IMAGE,
    compute: AgentCompute.eks({ cluster: existingCluster(stack), namespace: 'agents', ...options }),
    maxWorkers: 12,
    concurrency: 2,
    target: props.target ?? BacklogTarget.perWorker(10),
  });
  return { stack, agents, template: Template.fromStack(stack) };
}

function fleet(props: Partial<EksAgentFleetProps> = {}) {
  const stack = testStack();
  const queue = new AgentQueue(stack, 'Tasks');
  return () => new EksAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE, cluster: existingCluster(stack), ...props });
}

describe('EksAgentFleet on an existing cluster', () => {
  test('namespace, Pod Identity service account, Deployment with the worker contract, no new cluster', () => {
    const { template, agents } = elastic();
    template.resourceCountIs('AWS::EKS::Cluster', 0);
    const objects = kubernetesManifests(template);
    expect(objects.find((o) => o.kind === 'Namespace').metadata.name).toBe('agents');
    const pod = objects.find((o) => o.kind === 'Deployment').spec.template.spec;
    const env = Object.fromEntries((pod.containers[0].env as { name: string; value: string }[]).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      [AGENT_ENV.concurrency]: '2',
      [AGENT_ENV.handlerTimeoutSeconds]: '300',
      [AGENT_ENV.stopTimeoutSeconds]: '330',
      [AGENT_ENV.drainDeadlineSeconds]: '320',
      [AGENT_ENV.queueUrl]: '<token>',
    });
    expect(pod).toMatchObject({ serviceAccountName: 'agent', terminationGracePeriodSeconds: 330 });
    expect(pod.containers[0].securityContext).toEqual({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'agents', ServiceAccount: 'agent', ClusterName: 'agents-cluster' });
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: ['sts:AssumeRole', 'sts:TagSession'], Principal: { Service: 'pods.eks.amazonaws.com' } })]) },
    });
    expect(agents.fleet.grantPrincipal).toBe((agents.fleet as EksAgentFleet).serviceAccount.role);
  });

  test('BacklogScaling produces the ScaledObject from the model, and no Auto Scaling policy; its alarms only watch', () => {
    const { template, agents } = elastic();
    const scaledObject = kubernetesManifests(template).find((o) => o.kind === 'ScaledObject');
    expect(scaledObject.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 12, pollingInterval: 10, cooldownPeriod: 600 });
    // The backlog per worker the model holds (half the target of 10), capped at the concurrency (2).
    expect(agents.scaling.model.heldBacklogPerWorker).toBe(5);
    expect(scaledObject.spec.triggers[0].metadata).toMatchObject({ queueLength: '2', scaleOnInFlight: 'true' });
    expect((agents.fleet as EksAgentFleet).kedaScaling?.trigger.queueLength).toBe(2);
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalingPolicy', 0);
    for (const [, alarm] of resourcesOf(template, 'AWS::CloudWatch::Alarm')) {
      if (/scaling of/.test(alarm.Properties.AlarmDescription)) expect(alarm.Properties.AlarmActions).toBeUndefined();
    }
  });

  test('no workers-not-starting alarm on EKS: the HPA\'s desired replicas are not a CloudWatch metric', () => {
    const { template, agents } = elastic();
    expect(agents.monitoring?.workersNotStartingAlarm).toBeUndefined();
    expect(resourcesOf(template, 'AWS::CloudWatch::Alarm').filter(([id]) => id.includes('WorkersNotStarting'))).toEqual([]);
    expect(agents.monitoring?.memoryAlarm).toBeDefined();
  });

  test('KEDA is installed with an operator role that may only read this queue\'s attributes', () => {
    const { template } = elastic();
    template.hasResourceProperties('Custom::AWSCDK-EKS-HelmChart', { Chart: 'keda', Namespace: 'keda', CreateNamespace: true });
    template.hasResourceProperties('AWS::EKS::PodIdentityAssociation', { Namespace: 'keda', ServiceAccount: 'keda-operator' });
    const [[, kedaRole]] = resourcesOf(template, 'AWS::IAM::Role').filter(([id]) => id.includes('KedaOperatorRole'));
    expect(kedaRole).toBeDefined();
    const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([id]) => id.includes('KedaOperatorRole'));
    expect(policies).toHaveLength(1);
    expect(policies[0][1].Properties.PolicyDocument.Statement).toEqual([
      { Action: 'sqs:GetQueueAttributes', Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^AgentsQueue/), 'Arn'] } },
    ]);
  });

  test('a cluster that already runs KEDA: no chart; the given operator role gets the read; without one, a warning', () => {
    const stack = testStack();
    const kedaRole = new iam.Role(stack, 'KedaRole', { assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com') });
    const { template } = elastic({ installKeda: false, kedaOperatorRole: kedaRole }, { stack });
    template.resourceCountIs('Custom::AWSCDK-EKS-HelmChart', 0);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^KedaRole') }],
      PolicyDocument: { Statement: [Match.objectLike({ Action: 'sqs:GetQueueAttributes' })] },
    });
    const bare = elastic({ installKeda: false });
    Annotations.fromStack(bare.stack).hasWarning('/TestStack/Agents/Fleet', Match.stringLikeRegexp('sqs:GetQueueAttributes'));
  });

  test('a fractional held backlog below the concurrency becomes an integer queueLength rounded down, with a warning', () => {
    // 60 s ÷ 45 s x concurrency 2 = 2.67 acceptable, 1.33 held: below the concurrency, so not capped.
    const { template, stack } = elastic({}, { target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(45) }) });
    expect(kubernetesManifests(template).find((o) => o.kind === 'ScaledObject').spec.triggers[0].metadata.queueLength).toBe('1');
    Annotations.fromStack(stack).hasWarning('/TestStack/Agents/Fleet', Match.stringLikeRegexp('queueLength is an integer: the held backlog per worker 1\\.33\\d* becomes 1'));
    // Capped at the concurrency, an integer: no warning.
    const capped = elastic({}, { target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(7) }) });
    expect(kubernetesManifests(capped.template).find((o) => o.kind === 'ScaledObject').spec.triggers[0].metadata.queueLength).toBe('2');
    Annotations.fromStack(capped.stack).hasNoWarning('/TestStack/Agents/Fleet', Match.stringLikeRegexp('queueLength is an integer'));
  });

  test('KEDA reads the queue\'s count as it is: a latency target\'s model weighs nothing by the measured task time, and no alarm reads it', () => {
    const { template, agents } = elastic({}, { target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(45) }) });
    expect(agents.scaling.model.processingTimeSeconds).toBeUndefined();
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as { Properties: { Metrics?: { Id: string }[] } }[];
    expect(alarms.flatMap((a) => a.Properties.Metrics ?? []).map((m) => m.Id)).not.toContain('processingTime');
  });

  test('queueLength chosen in the props replaces the model\'s, with no rounding warning', () => {
    const { template, stack, agents } = elastic({ queueLength: 5 }, { target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(45) }) });
    expect(kubernetesManifests(template).find((o) => o.kind === 'ScaledObject').spec.triggers[0].metadata.queueLength).toBe('5');
    expect((agents.fleet as EksAgentFleet).kedaScaling?.trigger.queueLength).toBe(5);
    Annotations.fromStack(stack).hasNoWarning('/TestStack/Agents/Fleet', Match.stringLikeRegexp('queueLength is an integer'));
  });

  test('running workers: Container Insights\' running pods of the fleet\'s namespace', () => {
    const { agents } = elastic();
    const metric = agents.fleet.metricRunningWorkers();
    expect(metric).toMatchObject({ namespace: 'ContainerInsights', metricName: 'namespace_number_of_running_pods' });
    expect(metric.dimensions).toEqual({ ClusterName: 'agents-cluster', Namespace: 'agents' });
  });
});

describe('EksAgentFleet validation and what does not apply', () => {
  test('no 120 s cap: a 10-minute grace period is valid; the drain deadline must still end before it', () => {
    expect(fleet({ stopTimeout: Duration.minutes(10) })).not.toThrow();
    expect(fleet({ stopTimeout: Duration.minutes(10), drainDeadline: Duration.minutes(10) }))
      .toThrow(/TestStack\/Fleet: invalid configuration[\s\S]*drainDeadline: must be > 0 and < stopTimeout \(600 seconds\)/);
  });

  test('a drain shorter than the handler timeout is allowed, with a warning', () => {
    const stack = testStack();
    new EksAgentFleet(stack, 'Fleet', {
      queue: new AgentQueue(stack, 'Tasks'), image: TEST_IMAGE, cluster: existingCluster(stack), stopTimeout: Duration.seconds(60),
    });
    Annotations.fromStack(stack).hasWarning('/TestStack/Fleet', Match.stringLikeRegexp('drainDeadline \\(50 s\\) < handlerTimeout \\(300 s\\)'));
  });

  test('queueLength must be an integer of at least 1', () => {
    expect(fleet({ queueLength: 0 })).toThrow(/TestStack\/Fleet: invalid configuration[\s\S]*queueLength: must be an integer 1-1000000, got 0/);
    expect(fleet({ queueLength: 2.5 })).toThrow(/queueLength: must be an integer 1-1000000, got 2\.5/);
    expect(fleet({ queueLength: 40 })).not.toThrow();
  });

  test('namespace must be a DNS label; a new cluster has no KEDA to reuse', () => {
    expect(fleet({ namespace: 'Agents_1' })).toThrow(/namespace: must be a DNS label .*, got Agents_1/);
    const stack = testStack();
    expect(() => new EksAgentFleet(stack, 'Fleet', { queue: new AgentQueue(stack, 'Tasks'), image: TEST_IMAGE, installKeda: false }))
      .toThrow(/installKeda: must be true for a new cluster/);
  });

  test('a new cluster: maxWorkers must fit the IP addresses of the pods\' subnets', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Small', {
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/24'), maxAzs: 2, natGateways: 1,
      subnetConfiguration: [{ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 28 }, { name: 'Pods', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 28 }],
    });
    expect(() => new EksAgentFleet(stack, 'Fleet', { queue: new AgentQueue(stack, 'Tasks'), image: TEST_IMAGE, vpc, maxWorkers: 30 }))
      .toThrow(/maxWorkers: must be <= 22, the IP addresses left in the workers' subnets, got 30/);
  });

  test('Auto Scaling policies and the publisher do not apply on EKS, and say why', () => {
    const made = fleet()();
    expect(() => made.addStepScaling(made, 'X', { adjustmentType: 'ChangeInCapacity' as never, steps: [], cooldown: Duration.seconds(1) }))
      .toThrow(/scaled by KEDA from the policy model/);
    const stack = testStack();
    expect(() => new ElasticAgentFleet(stack, 'Agents', {
      image: TEST_IMAGE, compute: AgentCompute.eks({ cluster: existingCluster(stack) }), metricSource: BacklogMetricSource.PUBLISHER,
    })).toThrow(/backlog publisher does not count EKS pods/);
    // Left unset, the source is KEDA's own reading of the queue: no publisher, and its period is refused.
    expect(elastic().agents.publisher).toBeUndefined();
    const other = testStack();
    expect(() => new ElasticAgentFleet(other, 'Agents', {
      image: TEST_IMAGE, compute: AgentCompute.eks({ cluster: existingCluster(other) }), publisherPeriod: Duration.seconds(30),
    })).toThrow(/- publisherPeriod: must be unset unless the backlog publisher runs \(metricSource PUBLISHER, the default on Fargate and EC2\), got 30 seconds/);
  });

  test('CPU, memory and metric target tracking do not apply on EKS, and say why; the dashboard reads the pods\' CPU and memory', () => {
    const stack = testStack();
    expect(() => new ElasticAgentFleet(stack, 'Agents', {
      image: TEST_IMAGE, compute: AgentCompute.eks({ cluster: existingCluster(stack) }), scaling: { cpuTargetPercent: 60 },
    })).toThrow(/cpuTargetPercent, memoryTargetPercent and scaleOnMetric do not apply on EKS/);
    const { template } = elastic();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'ContainerInsights', MetricName: 'pod_memory_utilization_over_pod_limit', Statistic: 'Maximum',
      Dimensions: Match.arrayWith([Match.objectLike({ Name: 'Namespace', Value: 'agents' })]),
    });
  });
});
