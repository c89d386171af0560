import { ExpectedResult, IntegTest, type IApiCall } from '@aws-cdk/integ-tests-alpha';
import { App, Duration, RemovalPolicies, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { ElasticAgentFleet, type ElasticAgentFleetProps } from '../../lib';
import { REFERENCE_AGENT_IMAGE } from '../../bin/reference-stacks';

/** Well-formed tasks sent; each leaves `results/<taskId>.json` in the result bucket. */
export const TASKS = 8;
/** Malformed tasks sent; the reference agent rejects them, so they land in the DLQ. */
export const MALFORMED = 2;

/** How the test sees a fleet's workers, which differs by compute. */
export interface WorkerProbes {
  /** Answers once at least one worker runs. */
  readonly running: IApiCall;
  /** Answers once the fleet runs and wants no worker. */
  readonly idle: IApiCall;
}

/** The waits, generous for AWS's delays: SQS metrics of an idle queue (up to 15 min), scale-in alarms (15 min). */
const WAIT = {
  running: Duration.minutes(30),
  processed: Duration.minutes(15),
  idle: Duration.minutes(45),
  interval: Duration.seconds(30),
};

/**
 * A fleet of the reference agent from zero, and what a user would check after deploying it: it
 * leaves zero when tasks arrive, processes every task (a result object per task), sends the
 * malformed ones to the DLQ, and scales back to zero. Everything is destroyed afterwards.
 */
export function fleetRoundTrip(
  id: string,
  props: Omit<ElasticAgentFleetProps, 'image'>,
  probes: (agents: ElasticAgentFleet, integ: IntegTest) => WorkerProbes,
): App {
  const app = new App();
  const stack = new Stack(app, id);
  const results = new s3.Bucket(stack, 'Results', { enforceSSL: true, removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
  const agents = new ElasticAgentFleet(stack, 'Agents', {
    image: REFERENCE_AGENT_IMAGE,
    minWorkers: 0,
    maxWorkers: 2,
    concurrency: 4,
    handlerTimeout: Duration.minutes(1),
    queueProps: { maxReceiveCount: 2 },
    ...props,
    environment: { AGENT_RESULT_BUCKET: results.bucketName, AGENT_SIM_STEP_MS: '200', ...props.environment },
  });
  results.grantPut(agents.fleet);
  RemovalPolicies.of(stack).destroy();

  const integ = new IntegTest(app, `${id}Test`, { testCases: [stack], diffAssets: false });
  const tasks = Array.from({ length: TASKS }, (_, i) => ({ Id: `task${i}`, MessageBody: JSON.stringify({ taskId: `task-${i}`, prompt: 'integration', steps: 2 }) }));
  const malformed = Array.from({ length: MALFORMED }, (_, i) => ({ Id: `malformed${i}`, MessageBody: `not a task ${i}` }));
  const send = integ.assertions.awsApiCall('SQS', 'sendMessageBatch', { QueueUrl: agents.queue.queue.queueUrl, Entries: [...tasks, ...malformed] });
  // SendMessageBatch is authorized by sqs:SendMessage (there is no sqs:SendMessageBatch action).
  send.provider.addToRolePolicy({ Effect: 'Allow', Action: ['sqs:SendMessage'], Resource: [agents.queue.queue.queueArn] });

  const processed = integ.assertions.awsApiCall('S3', 'listObjectsV2', { Bucket: results.bucketName, Prefix: 'results/' });
  // ListObjectsV2 is authorized by s3:ListBucket.
  processed.provider.addToRolePolicy({ Effect: 'Allow', Action: ['s3:ListBucket'], Resource: [results.bucketArn] });
  processed.assertAtPath('KeyCount', ExpectedResult.exact(TASKS));

  const deadLetters = integ.assertions.awsApiCall('SQS', 'getQueueAttributes', {
    QueueUrl: agents.queue.deadLetterQueue!.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'],
  });
  deadLetters.assertAtPath('Attributes.ApproximateNumberOfMessages', ExpectedResult.exact(String(MALFORMED)));

  const { running, idle } = probes(agents, integ);
  send
    .next(running.waitForAssertions({ totalTimeout: WAIT.running, interval: WAIT.interval }))
    .next(processed.waitForAssertions({ totalTimeout: WAIT.processed, interval: WAIT.interval }))
    .next(deadLetters.waitForAssertions({ totalTimeout: WAIT.processed, interval: WAIT.interval }))
    .next(idle.waitForAssertions({ totalTimeout: WAIT.idle, interval: WAIT.interval }));
  return app;
}
