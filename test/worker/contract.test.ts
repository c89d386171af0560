/**
 * Whatever passes synth produces workers that start: the environment a fleet writes into its
 * container (read from the synthesized template) configures a worker that runs against a queue
 * with the visibility timeout the fleet was told of, or, for an adopted queue of unknown
 * visibility, with whatever the queue says.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentQueue, ElasticAgentFleet, type ElasticAgentFleetProps } from '../../lib';
import { AGENT_ENV, AgentWorker, silentLogger } from '../../lib/worker';
import { resourcesOf, synthTemplate, testStack, TEST_IMAGE } from '../support/cdk';
import { startLocalSqs, type LocalSqs } from '../support/local-sqs';
import { sendAll, waitFor } from './helpers';

let local: LocalSqs;
beforeAll(async () => { local = await startLocalSqs(); });
afterAll(async () => { await local.stop(); });

/** The literal AGENT_* variables of the fleet's container. */
function containerEnv(props: (stack: ReturnType<typeof testStack>) => Partial<ElasticAgentFleetProps>): Record<string, string> {
  const stack = testStack();
  new ElasticAgentFleet(stack, 'Agents', { image: TEST_IMAGE, ...props(stack) });
  const [[, taskDef]] = resourcesOf(synthTemplate(stack), 'AWS::ECS::TaskDefinition');
  const env: Record<string, string> = {};
  for (const { Name, Value } of taskDef.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>) {
    if (Name.startsWith('AGENT_') && Name !== AGENT_ENV.metricsNamespace && typeof Value === 'string') env[Name] = Value;
  }
  return env;
}

const adopted = (stack: ReturnType<typeof testStack>, visibilityTimeout?: Duration) => AgentQueue.fromQueues(stack, 'Existing', {
  queue: sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-1:111111111111:tasks'), visibilityTimeout,
});

test.each([
  ['a default fleet', '30', () => ({})],
  ['an adopted 15-minute queue with a 10-minute handler', '900', (s) => ({ queue: adopted(s, Duration.minutes(15)), handlerTimeout: Duration.minutes(10) })],
  ['an adopted queue of unknown visibility with a 10-minute handler', '900', (s) => ({ queue: adopted(s), handlerTimeout: Duration.minutes(10) })],
  ['a 5-minute queue with a 2-hour handler and task protection', '300', () => ({
    queueProps: { visibilityTimeout: Duration.minutes(5) }, handlerTimeout: Duration.hours(2), taskProtectionExpiry: Duration.hours(2),
  })],
] as Array<[string, string, (s: ReturnType<typeof testStack>) => Partial<ElasticAgentFleetProps>]>)('%s: the worker starts and works', async (name, queueVisibility, props) => {
  // GIVEN the fleet's environment and a queue with the visibility timeout it has
  const env = containerEnv(props);
  const client = local.client();
  const { url } = await local.createQueue(`contract-${queueVisibility}-${Object.keys(env).length}-${name.length}`, { VisibilityTimeout: queueVisibility });
  const seen: string[] = [];
  // WHEN
  const worker = new AgentWorker({
    env: { ...env, [AGENT_ENV.queueUrl]: url }, sqsClient: client, logger: silentLogger, handleSignals: false, waitTimeSeconds: 1,
    handler: async (m) => { seen.push(m.Body!); },
  });
  worker.start();
  await sendAll(client, url, ['task']);
  // THEN it processes, extending by a third of the queue's visibility timeout
  await waitFor(() => seen.length === 1, 10_000, 'the task processed');
  expect((worker as unknown as { heartbeatMs: number }).heartbeatMs).toBe((Number(queueVisibility) / 3) * 1000);
  await worker.stop();
  expect(worker.state).toBe('stopped');
});
