// Integration test: an EC2 fleet of the reference agent, scaled on the backlog publisher's
// metrics, from zero to work and back. `npm run integ` verifies its snapshot offline; see
// docs/integration-tests.md to deploy it.
import { ExpectedResult } from '@aws-cdk/integ-tests-alpha';
import { AgentCompute, BacklogMetricSource, type Ec2AgentFleet } from '../../lib';
import { fleetRoundTrip } from './fleet-round-trip';

fleetRoundTrip('AgentFleetIntegEc2', { compute: AgentCompute.ec2(), metricSource: BacklogMetricSource.PUBLISHER }, (agents, integ) => {
  const group = { AutoScalingGroupNames: [(agents.fleet as Ec2AgentFleet).autoScalingGroup.autoScalingGroupName] };
  const running = integ.assertions.awsApiCall('AutoScaling', 'describeAutoScalingGroups', group);
  running.assertAtPath('AutoScalingGroups.0.Instances.0.LifecycleState', ExpectedResult.stringLikeRegexp('InService'));
  const idle = integ.assertions.awsApiCall('AutoScaling', 'describeAutoScalingGroups', group);
  idle.expect(ExpectedResult.objectLike({ AutoScalingGroups: [{ DesiredCapacity: 0, Instances: [] }] }));
  return { running, idle };
}).synth();
