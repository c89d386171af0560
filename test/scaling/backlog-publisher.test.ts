import * as fs from 'node:fs';
import * as path from 'node:path';
import { Duration, type App, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AgentQueue, BacklogPublisher, Ec2AgentFleet, FargateAgentFleet, type BacklogPublisherProps, type IAgentFleet } from '../../lib';
import { resourcesOf, TEST_IMAGE, testStack, synthTemplate } from '../support/cdk';

function published(kind: 'fargate' | 'ec2', period?: Duration, stack: Stack = testStack(), extra: Partial<BacklogPublisherProps> = {}) {
  const queue = new AgentQueue(stack, 'Tasks');
  const fleet: IAgentFleet = kind === 'fargate'
    ? new FargateAgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE })
    : new Ec2AgentFleet(stack, 'Fleet', { queue, image: TEST_IMAGE });
  const publisher = new BacklogPublisher(stack, 'Publisher', { queue, fleet, period, ...extra });
  return { stack, publisher, template: synthTemplate(stack) };
}

function publisherStatements(template: Template) {
  const [[, policy]] = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) => JSON.stringify(p.Properties.Roles).includes('PublisherRole'));
  return policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
}

describe('BacklogPublisher', () => {
  test('a function on the latest Node runtime, run once a minute without retries, sampling every 10 s', () => {
    const { template } = published('fargate');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      Timeout: 70,
      Environment: { Variables: Match.objectLike({
        QUEUE_URL: Match.anyValue(),
        FLEET_NAME: Match.stringLikeRegexp('^TestStackFleet'),
        METRIC_NAMESPACE: 'AgentFleet',
        PERIOD_SECONDS: '10',
        ECS_CLUSTER: Match.anyValue(),
        ECS_SERVICE: Match.anyValue(),
      }) },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Events::Rule', {
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 } })],
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  test('Lambda\'s own async retries are off too, and a run older than a minute is dropped', () => {
    const { template } = published('fargate');
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: Match.stringLikeRegexp('^PublisherFunction') },
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  test('reserves no concurrency unless asked: Lambda keeps 100 units unreserved, so a low-quota account would reject the function', () => {
    const { template } = published('fargate');
    const [[, fn]] = resourcesOf(template, 'AWS::Lambda::Function').filter(([id]) => id.startsWith('PublisherFunction'));
    expect(fn.Properties).not.toHaveProperty('ReservedConcurrentExecutions');
    published('fargate', undefined, testStack(), { reservedConcurrency: 1 }).template
      .hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 1 });
    expect(() => published('fargate', undefined, testStack(), { reservedConcurrency: 0 }))
      .toThrow(/^TestStack\/Publisher: invalid configuration[\s\S]*reservedConcurrency: must be an integer >= 1, got 0/);
  });

  test('IAM on Fargate: the queue\'s attributes, the one service, PutMetricData in its namespace only', () => {
    const statements = publisherStatements(published('fargate').template);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'sqs:GetQueueAttributes', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Tasks/), 'Arn'] } }),
      expect.objectContaining({ Action: 'ecs:DescribeServices', Resource: { Ref: expect.stringMatching(/^FleetService/) } }),
      expect.objectContaining({ Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'AgentFleet' } } }),
    ]));
    expect(statements.filter((s) => s.Resource === '*').every((s) => s.Condition)).toBe(true);
  });

  test('IAM on EC2: DescribeAutoScalingGroups, which has no resource-level permission, only in this region', () => {
    const { template } = published('ec2');
    expect(publisherStatements(template)).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: 'autoscaling:DescribeAutoScalingGroups', Resource: '*', Condition: { StringEquals: { 'aws:RequestedRegion': { Ref: 'AWS::Region' } } } }),
    ]));
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUTO_SCALING_GROUP_NAME: Match.anyValue() }) },
    });
  });

  test('the asset is the bundled handler alone', () => {
    const { stack } = published('fargate');
    const assembly = (stack.node.root as App).synth();
    const publisherAssets = fs.readdirSync(assembly.directory)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => path.join(assembly.directory, d))
      .filter((d) => fs.existsSync(path.join(d, 'index.js')) && fs.readFileSync(path.join(d, 'index.js'), 'utf8').includes('BacklogPerWorker'));
    expect(publisherAssets).toHaveLength(1);
    expect(fs.readdirSync(publisherAssets[0])).toEqual(['index.js']);
  });

  test('its metrics carry the fleet dimension, the period and the unit', () => {
    const { publisher } = published('fargate', Duration.seconds(30));
    const metric = publisher.metricBacklogPerWorker();
    expect(metric.metricName).toBe('BacklogPerWorker');
    expect(metric.period.toSeconds()).toBe(30);
    expect(Object.keys(metric.dimensions!)).toEqual(['Fleet']);
    expect(publisher.metricInput('running').metricName).toBe('RunningWorkers');
  });

  test('a period other than 10, 30 or 60 s is an error naming the path, prop, range and value', () => {
    expect(() => published('fargate', Duration.seconds(45)))
      .toThrow(/^TestStack\/Publisher: invalid configuration[\s\S]*period: must be one of 10, 30, 60 seconds, got 45 seconds/);
  });
});
