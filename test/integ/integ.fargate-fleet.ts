// Integration test: a Fargate fleet of the reference agent, from zero to work and back.
// `npm run integ` verifies its snapshot offline; see docs/integration-tests.md to deploy it.
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { AgentCompute, BacklogMetricSource, type FargateAgentFleet } from '../../lib';
import { fleetRoundTrip } from './fleet-round-trip';

// Metric math over SQS's and Container Insights' metrics, so that both sources are deployed: the EC2 test runs the publisher.
const props = { compute: AgentCompute.fargate({ cpu: 256, memoryLimitMiB: 512 }), metricSource: BacklogMetricSource.METRIC_MATH };
fleetRoundTrip('AgentFleetIntegFargate', props, (agents, integ) => {
  const fleet = agents.fleet as FargateAgentFleet;
  const service = { cluster: fleet.cluster.clusterArn, services: [fleet.service.serviceArn] };
  const running = integ.assertions.awsApiCall('ECS', 'listTasks', { cluster: fleet.cluster.clusterArn, serviceName: fleet.service.serviceName, desiredStatus: 'RUNNING' });
  running.assertAtPath('taskArns.0', ExpectedResult.stringLikeRegexp(':task/'));
  const idle = integ.assertions.awsApiCall('ECS', 'describeServices', service);
  idle.expect(ExpectedResult.objectLike({ services: [{ desiredCount: 0, runningCount: 0 }] }));
  return { running, idle };
}).synth();
