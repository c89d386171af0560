import { Annotations, Duration, Names, Resource, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as eks from 'aws-cdk-lib/aws-eks-v2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { DependencyGroup, type Construct } from 'constructs';
import { kedaMessagesPerReplica, kedaScalingFromModel, scaledObjectManifest, type KedaScaling } from '../policy/keda';
import type { BacklogScalingModel } from '../policy/scaling-policy';
import { check, checkIntegerRange } from '../policy/violation';
import { knownSeconds, throwIfInvalid } from '../validation';
import { WORKER_DEFAULTS, type WorkerTimings } from '../worker/contract';
import { acknowledgeManagedPolicies, acknowledgeRule, acknowledgeWildcardResource } from '../nag-acknowledgements';
import {
  FLEET_DEFAULTS, resolveWorkerSettings, workerCountMetric, workerEnvironment,
  type AgentFleetProps, type FleetStepScalingOptions, type MathTargetTrackingOptions, type MetricTargetTrackingOptions,
} from './agent-fleet';
import { checkSubnetCapacity, createFleetVpc } from './fleet-vpc';
import type { IModelScaledFleet } from './model-scaled-fleet';

/** Versions the EKS fleet installs, each chosen to match the others (docs/eks.md). */
export const EKS_VERSIONS = {
  /** Kubernetes of a new cluster: inside KEDA 2.19's tested window (1.32-1.34). */
  kubernetes: eks.KubernetesVersion.V1_34,
  /** The kubectl layer package for it (kubectl 1.34, helm): `@aws-cdk/lambda-layer-kubectl-v34`. */
  kubectlLayerPackage: '@aws-cdk/lambda-layer-kubectl-v34',
  /** KEDA's Helm chart (chart version = KEDA version), tested by KEDA on Kubernetes 1.32-1.34. */
  kedaChart: '2.19.0',
} as const;

/** Where KEDA's Helm chart comes from, and the names it installs (kedacore/charts). */
const KEDA_CHART = {
  repository: 'https://kedacore.github.io/charts',
  chart: 'keda',
  namespace: 'keda',
  operatorServiceAccount: 'keda-operator',
} as const;

/** Kubernetes names of the fleet's objects inside its namespace. */
const NAMES = { deployment: 'agent', serviceAccount: 'agent', container: 'agent', triggerAuthentication: 'agent-queue' } as const;

/** The EKS-specific choices, for `EksAgentFleet` and `AgentCompute.eks`. */
export interface EksComputeOptions {
  /**
   * The cluster, with a kubectl provider (`eks.Cluster.fromClusterAttributes(..., { kubectlProvider })`
   * or `kubectlProviderOptions`) and the EKS Pod Identity Agent (an add-on, or Auto Mode).
   * @default - a new EKS Auto Mode cluster (Kubernetes 1.34) in `vpc`, private endpoint, control plane logs on
   */
  readonly cluster?: eks.ICluster;
  /**
   * The kubectl layer of a new cluster's kubectl provider (ignored with `cluster`).
   * @default - `KubectlV34Layer` from the optional peer dependency `@aws-cdk/lambda-layer-kubectl-v34`
   */
  readonly kubectlLayer?: lambda.ILayerVersion;
  /**
   * The Kubernetes namespace the fleet creates and owns (a DNS label). It must hold only this
   * fleet's pods: the running-workers metric counts the namespace's running pods.
   * @default - a name unique to this fleet, derived from its construct path
   */
  readonly namespace?: string;
  /**
   * CPU request of each agent pod (Kubernetes quantity).
   * @default '500m'
   */
  readonly cpu?: string;
  /**
   * Memory request and limit of each agent pod (Kubernetes quantity).
   * @default '1Gi'
   */
  readonly memory?: string;
  /**
   * SIGTERM to SIGKILL of a pod (`terminationGracePeriodSeconds`). Kubernetes has no 120 s cap:
   * the default lets a handler that started just before SIGTERM finish, since nothing like ECS
   * task protection keeps the HPA from choosing a busy pod.
   * @default - handlerTimeout + 30 seconds
   */
  readonly stopTimeout?: Duration;
  /**
   * Install KEDA through its Helm chart (one installation per cluster). Set false when the cluster
   * already runs KEDA, and pass its operator's role as `kedaOperatorRole`.
   * @default true
   */
  readonly installKeda?: boolean;
  /**
   * With `installKeda: false`: the IAM role KEDA's operator runs with (EKS Pod Identity or IRSA),
   * which is granted `sqs:GetQueueAttributes` on the queue.
   * @default - none: a warning asks you to grant it yourself
   */
  readonly kedaOperatorRole?: iam.IRole;
  /**
   * Messages per replica the ScaledObject targets (`aws-sqs-queue` `queueLength`, an integer).
   * KEDA counts an in-flight message like a waiting one, so above the concurrency a busy pod
   * counts as less than one replica, and once the backlog is caught up the HPA removes busy pods
   * and the backlog builds again. Set it above the concurrency only when your latency goal can
   * absorb that (docs/eks.md): it then holds more messages per pod, for fewer pods.
   * @default - the backlog per worker the scaling model holds, at most the concurrency (`kedaMessagesPerReplica`)
   */
  readonly queueLength?: number;
}

/** Properties of an `EksAgentFleet`. */
export interface EksAgentFleetProps extends AgentFleetProps, EksComputeOptions {}

/**
 * The image pull on EKS is the kubelet's, with the node role, which EKS requires to hold ECR read
 * access (AmazonEC2ContainerRegistryPullOnly or ReadOnly, "Amazon EKS node IAM role"): no pod
 * identity gets pull rights, and nothing is left to grant.
 */
class NodeRolePulls extends iam.PrincipalBase {
  public readonly policyFragment = new iam.PrincipalPolicyFragment({});
  public addToPrincipalPolicy(): iam.AddToPrincipalPolicyResult {
    return { statementAdded: true, policyDependable: new DependencyGroup() };
  }

  public dedupeString(): string | undefined {
    return 'cdk-agent-fleet:eks-node-role';
  }
}

/**
 * A fleet of agent workers on Kubernetes: a Deployment of the agent image in its own namespace on
 * an EKS cluster (given, or a new Auto Mode cluster), with a service account that may consume the
 * queue (EKS Pod Identity), and KEDA (installed by its Helm chart unless the cluster has it),
 * whose `ScaledObject` `BacklogScaling` derives from the policy model.
 */
export class EksAgentFleet extends Resource implements IModelScaledFleet {
  public readonly minWorkers: number;
  public readonly maxWorkers: number;
  public readonly concurrency: number;
  public readonly fleetName: string;
  public readonly timings: WorkerTimings;
  public readonly metricsNamespace: string;
  public readonly grantPrincipal: iam.IPrincipal;
  public readonly cluster: eks.ICluster;
  /** The namespace the fleet owns. */
  public readonly namespace: string;
  /** The agents' service account; its role may consume the queue. */
  public readonly serviceAccount: eks.ServiceAccount;
  /** The role KEDA's operator reads the queue's counters with (when it is known). */
  public readonly kedaOperatorRole?: iam.IRole;
  /** KEDA's Helm release, when the fleet installs it. */
  public readonly keda?: eks.HelmChart;
  /** The KEDA settings the model became, once `BacklogScaling` applied it. */
  public kedaScaling?: KedaScaling;
  private readonly queueUrl: string;
  /** The `queueLength` chosen in the props, instead of the model's. */
  private readonly queueLength?: number;
  private readonly queueRegion: string;
  private readonly kubernetesObjects: eks.KubernetesManifest;

  constructor(scope: Construct, id: string, props: EksAgentFleetProps) {
    super(scope, id);
    const handlerSeconds = knownSeconds(props.handlerTimeout) ?? WORKER_DEFAULTS.handlerTimeoutSeconds;
    const stopTimeout = props.stopTimeout ?? Duration.seconds(handlerSeconds + 30);
    const { settings, violations } = resolveWorkerSettings(this, { ...props, stopTimeout });
    this.namespace = props.namespace ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).toLowerCase().replace(/[^a-z0-9-]/g, '');
    throwIfInvalid(this, [
      ...violations,
      ...check(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(this.namespace), 'namespace', 'a DNS label (a-z, 0-9, -; at most 63)', this.namespace),
      ...check(!(props.installKeda === false) || props.cluster !== undefined, 'installKeda', 'true for a new cluster (it has no KEDA)', props.installKeda),
      ...checkIntegerRange('queueLength', props.queueLength, 1, 1_000_000),
    ]);
    this.queueLength = props.queueLength;
    this.minWorkers = settings.minWorkers;
    this.maxWorkers = settings.maxWorkers;
    this.concurrency = settings.concurrency;
    this.fleetName = settings.fleetName;
    this.timings = settings.timings;
    this.metricsNamespace = settings.metricsNamespace;
    this.queueUrl = props.queue.queue.queueUrl;
    this.queueRegion = Stack.of(props.queue.queue).region;

    this.cluster = props.cluster ?? this.createCluster(props);
    if (settings.timings.drainDeadlineSeconds < settings.timings.handlerTimeoutSeconds) {
      Annotations.of(this).addWarningV2('cdk-agent-fleet:eksDrainShorterThanHandler',
        `drainDeadline (${settings.timings.drainDeadlineSeconds} s) < handlerTimeout (${settings.timings.handlerTimeoutSeconds} s): `
        + 'a busy pod that the HPA removes releases its unfinished messages for a retry (nothing like ECS task protection shields it).');
    }

    const namespace = new eks.KubernetesManifest(this, 'Namespace', {
      cluster: this.cluster,
      manifest: [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: this.namespace } }],
    });
    this.serviceAccount = new eks.ServiceAccount(this, 'ServiceAccount', {
      cluster: this.cluster,
      name: NAMES.serviceAccount,
      namespace: this.namespace,
      identityType: eks.IdentityType.POD_IDENTITY,
    });
    this.serviceAccount.node.addDependency(namespace);
    this.grantPrincipal = this.serviceAccount.role;
    props.queue.grantConsume(this.grantPrincipal);

    const image = props.image.bind(this, { grantPrincipal: new NodeRolePulls() });
    const labels = { 'app.kubernetes.io/name': NAMES.deployment, 'app.kubernetes.io/part-of': 'cdk-agent-fleet' };
    const environment = workerEnvironment(props, settings);
    this.kubernetesObjects = new eks.KubernetesManifest(this, 'Workload', {
      cluster: this.cluster,
      manifest: [
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: NAMES.deployment, namespace: this.namespace, labels },
          // No `replicas`: KEDA and the HPA own the count, and a re-apply must not reset it.
          spec: {
            selector: { matchLabels: labels },
            template: {
              metadata: { labels },
              spec: {
                serviceAccountName: NAMES.serviceAccount,
                // The worker drains on SIGTERM until the drain deadline, then releases its messages
                // and exits; the kubelet sends SIGKILL after this many seconds.
                terminationGracePeriodSeconds: settings.timings.stopTimeoutSeconds,
                securityContext: { seccompProfile: { type: 'RuntimeDefault' } },
                containers: [{
                  name: NAMES.container,
                  image: image.imageUri,
                  env: Object.entries(environment).map(([name, value]) => ({ name, value })),
                  resources: {
                    requests: { cpu: props.cpu ?? '500m', memory: props.memory ?? '1Gi' },
                    limits: { memory: props.memory ?? '1Gi' },
                  },
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                }],
              },
            },
          },
        },
        {
          // KEDA reads the queue's counters with its operator's own identity (`identityOwner: keda`,
          // the default of the `aws` pod identity provider, keda.sh "AWS (IRSA) Pod Identity Webhook"):
          // that role may only call sqs:GetQueueAttributes on this queue. `identityOwner: workload`
          // would make KEDA assume the agents' role, which may also receive and delete messages.
          apiVersion: 'keda.sh/v1alpha1',
          kind: 'TriggerAuthentication',
          metadata: { name: NAMES.triggerAuthentication, namespace: this.namespace },
          spec: { podIdentity: { provider: 'aws' } },
        },
      ],
    });
    this.kubernetesObjects.node.addDependency(namespace, this.serviceAccount);

    if (props.installKeda ?? true) {
      const { role, chart } = this.installKeda();
      this.kedaOperatorRole = role;
      this.keda = chart;
      // The TriggerAuthentication is a KEDA resource: its CRD must exist first.
      this.kubernetesObjects.node.addDependency(chart);
    } else {
      this.kedaOperatorRole = props.kedaOperatorRole;
      if (!props.kedaOperatorRole) {
        Annotations.of(this).addWarningV2('cdk-agent-fleet:kedaOperatorRole',
          'KEDA is not installed by this fleet and its operator role was not given: grant it sqs:GetQueueAttributes on the queue, or KEDA cannot read the backlog.');
      }
    }
    if (this.kedaOperatorRole) props.queue.queue.grant(this.kedaOperatorRole, 'sqs:GetQueueAttributes');
  }

  /** Translates the model into a KEDA ScaledObject (aws-sqs-queue trigger, HPA behavior) and applies it. */
  public scaleFromModel(model: BacklogScalingModel): void {
    this.kedaScaling = kedaScalingFromModel(model, this.queueLength);
    const messagesPerReplica = kedaMessagesPerReplica(model);
    if (this.queueLength === undefined && this.kedaScaling.trigger.queueLength !== messagesPerReplica) {
      Annotations.of(this).addWarningV2('cdk-agent-fleet:kedaQueueLength',
        `KEDA's queueLength is an integer: the held backlog per worker ${messagesPerReplica} becomes ${this.kedaScaling.trigger.queueLength} (more replicas, never fewer).`);
    }
    const scaledObject = new eks.KubernetesManifest(this, 'ScaledObject', {
      cluster: this.cluster,
      manifest: [scaledObjectManifest(this.kedaScaling, {
        name: NAMES.deployment,
        namespace: this.namespace,
        deploymentName: NAMES.deployment,
        queueUrl: this.queueUrl,
        awsRegion: this.queueRegion,
        triggerAuthenticationName: NAMES.triggerAuthentication,
      })],
    });
    scaledObject.node.addDependency(this.kubernetesObjects);
  }

  /**
   * Running agent pods: Container Insights' `namespace_number_of_running_pods` for the fleet's
   * namespace (ClusterName, Namespace), which holds only this fleet's pods. Needs Container
   * Insights on the cluster (the `amazon-cloudwatch-observability` add-on); without it there is no
   * CloudWatch metric of a Deployment's pods, and the dashboard shows a gap. KEDA and the HPA do
   * not need it: they count replicas themselves.
   */
  public metricRunningWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('ContainerInsights', 'namespace_number_of_running_pods',
      { ClusterName: this.cluster.clusterName, Namespace: this.namespace }, props);
  }

  /**
   * The same running-pods metric: neither EKS nor Container Insights publishes a Deployment's
   * desired replica count to CloudWatch (the HPA's status holds it, in the cluster).
   */
  public metricDesiredWorkers(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metricRunningWorkers({ label: 'Running pods (no desired count on EKS)', ...props });
  }

  /**
   * CPU of the agent pods over their limit: Container Insights' `pod_cpu_utilization_over_pod_limit`
   * for the fleet's namespace (ClusterName, Namespace), for the dashboard. Needs Container Insights
   * on the cluster, as `metricRunningWorkers` does.
   */
  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.podMetric('pod_cpu_utilization_over_pod_limit', props);
  }

  /** Memory of the agent pods over their limit (`pod_memory_utilization_over_pod_limit`), as `metricCpuUtilization`. */
  public metricMemoryUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.podMetric('pod_memory_utilization_over_pod_limit', props);
  }

  /** Container Insights (the cluster's add-on) publishes the pods' CPU and memory: nothing for the fleet to enable. */
  public enableUtilizationMetrics(): void {}

  /** CPU, memory and metric target tracking do not apply on EKS: KEDA scales the fleet from the backlog model. */
  public addMetricTargetTracking(_scope: Construct, _id: string, _options: MetricTargetTrackingOptions): void {
    throw new Error(`${this.node.path}: cpuTargetPercent, memoryTargetPercent and scaleOnMetric do not apply on EKS; `
      + 'KEDA scales the fleet from the backlog model (BacklogScaling calls scaleFromModel), not Auto Scaling policies.');
  }

  private podMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return workerCountMetric('ContainerInsights', metricName, { ClusterName: this.cluster.clusterName, Namespace: this.namespace }, props);
  }

  /** The backlog publisher counts ECS tasks or EC2 instances; on EKS, KEDA reads the queue itself. */
  public bindWorkerCounter(): Record<string, string> {
    throw new Error(`${this.node.path}: the backlog publisher does not count EKS pods; KEDA reads the queue directly (leave metricSource unset, or METRIC_MATH).`);
  }

  /** Scaling on EKS is KEDA's: `BacklogScaling` applies the model through `scaleFromModel`. */
  public addMathTargetTracking(_scope: Construct, _id: string, _options: MathTargetTrackingOptions): void {
    throw new Error(`${this.node.path}: an EKS fleet is scaled by KEDA from the policy model (BacklogScaling calls scaleFromModel), not by Auto Scaling policies.`);
  }

  /** Scaling on EKS is KEDA's: `BacklogScaling` applies the model through `scaleFromModel`. */
  public addStepScaling(_scope: Construct, _id: string, _options: FleetStepScalingOptions): cloudwatch.IAlarmAction {
    throw new Error(`${this.node.path}: an EKS fleet is scaled by KEDA from the policy model (BacklogScaling calls scaleFromModel), not by Auto Scaling policies.`);
  }

  /** A new EKS Auto Mode cluster: nodes come and go with the pods KEDA asks for. */
  private createCluster(props: EksAgentFleetProps): eks.Cluster {
    const vpc = props.vpc ?? createFleetVpc(this, props.logRetention ?? FLEET_DEFAULTS.logRetention);
    const vpcSubnets = props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
    // Each pod takes an IP address of the subnets (Amazon VPC CNI), as a Fargate task does.
    throwIfInvalid(this, checkSubnetCapacity(vpc, vpcSubnets, this.maxWorkers));
    const cluster = new eks.Cluster(this, 'Cluster', {
      version: EKS_VERSIONS.kubernetes,
      vpc,
      vpcSubnets: [vpcSubnets],
      endpointAccess: eks.EndpointAccess.PRIVATE,
      clusterLogging: [
        eks.ClusterLoggingTypes.API, eks.ClusterLoggingTypes.AUDIT, eks.ClusterLoggingTypes.AUTHENTICATOR,
        eks.ClusterLoggingTypes.CONTROLLER_MANAGER, eks.ClusterLoggingTypes.SCHEDULER,
      ],
      kubectlProviderOptions: { kubectlLayer: props.kubectlLayer ?? defaultKubectlLayer(this) },
    });
    // What CDK's EKS constructs (the cluster, its Auto Mode node role, the kubectl provider) need.
    acknowledgeManagedPolicies(cluster,
      'Managed policies CDK\'s EKS constructs attach as EKS requires them: the Auto Mode cluster role (AmazonEKSClusterPolicy, Compute, BlockStorage, '
      + 'LoadBalancing, Networking), the node role (AmazonEKSWorkerNodePolicy, AmazonEC2ContainerRegistryReadOnly), the kubectl provider\'s Lambda execution roles.');
    const kubectlHandler = cluster.node.findChild('KubectlProvider').node.findChild('Handler') as lambda.IFunction;
    acknowledgeRule(kubectlHandler, 'L1',
      'The kubectl provider handler runs the Python runtime CDK pins for the AWS CLI and kubectl layers it ships.');
    acknowledgeWildcardResource(cluster, `${kubectlHandler.functionArn}:*`,
      'CDK\'s provider framework invokes the versions of its own kubectl handler function, and nothing else.');
    return cluster;
  }

  /**
   * KEDA from its Helm chart, with an operator role (EKS Pod Identity, for the chart's
   * `keda/keda-operator` service account) that may read this queue's attributes and nothing else.
   */
  private installKeda(): { role: iam.Role; chart: eks.HelmChart } {
    const role = new iam.Role(this, 'KedaOperatorRole', {
      assumedBy: new iam.ServicePrincipal('pods.eks.amazonaws.com'),
      description: 'KEDA operator: reads the agent queue\'s counters (sqs:GetQueueAttributes) for its ScaledObject',
    });
    // EKS Pod Identity needs sts:TagSession next to sts:AssumeRole ("EKS Pod Identity role").
    role.assumeRolePolicy!.addStatements(new iam.PolicyStatement({
      actions: ['sts:AssumeRole', 'sts:TagSession'],
      principals: [new iam.ServicePrincipal('pods.eks.amazonaws.com')],
    }));
    new eks.CfnPodIdentityAssociation(this, 'KedaOperatorIdentity', {
      clusterName: this.cluster.clusterName,
      namespace: KEDA_CHART.namespace,
      serviceAccount: KEDA_CHART.operatorServiceAccount,
      roleArn: role.roleArn,
    });
    const chart = new eks.HelmChart(this, 'Keda', {
      cluster: this.cluster,
      repository: KEDA_CHART.repository,
      chart: KEDA_CHART.chart,
      version: EKS_VERSIONS.kedaChart,
      release: 'keda',
      namespace: KEDA_CHART.namespace,
      createNamespace: true,
      wait: true,
    });
    return { role, chart };
  }
}

/**
 * The kubectl layer from the optional peer dependency, loaded only when a new cluster needs it
 * (it stages a 37 MB zip, which fleets on ECS never pay for).
 */
function defaultKubectlLayer(scope: Construct): lambda.ILayerVersion {
  let layer: { KubectlV34Layer: new (scope: Construct, id: string) => lambda.ILayerVersion };
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    layer = require(EKS_VERSIONS.kubectlLayerPackage);
  } catch {
    throw new Error(`${scope.node.path}: a new EKS cluster needs a kubectl layer: npm install ${EKS_VERSIONS.kubectlLayerPackage}, or pass kubectlLayer.`);
  }
  return new layer.KubectlV34Layer(scope, 'KubectlLayer');
}
