import { AgentCompute, ElasticAgentFleet } from '../../lib';
import { TEST_IMAGE, testStack } from '../support/cdk';

// CloudWatch reserves namespaces that begin with AWS/ (PutMetricData refuses them): a fleet whose
// workers would publish there is refused at synth, on either compute.
describe.each([
  ['Fargate', AgentCompute.fargate()],
  ['EC2', AgentCompute.ec2()],
])('metricsNamespace on %s', (_name, compute) => {
  test('AWS/... is refused with the path, the prop and the value', () => {
    const stack = testStack();
    expect(() => new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute, metricsNamespace: 'AWS/ECS' }))
      .toThrow(/Agents.*metricsNamespace.*a namespace not starting with AWS\/.*AWS\/ECS/s);
  });

  test('a custom namespace is accepted', () => {
    const stack = testStack();
    expect(() => new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, compute, metricsNamespace: 'Acme/Agents' })).not.toThrow();
  });
});
