import { CfnParameter, Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentQueue, AgentQueueEncryption } from '../../lib';
import { resourcesOf, testStack, synthTemplate } from '../support/cdk';

describe('AgentQueue', () => {
  test('creates a queue and a dead-letter queue, encrypted, TLS only, with redrive and long polling', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new AgentQueue(stack, 'Tasks');
    // THEN
    const template = synthTemplate(stack);
    template.resourceCountIs('AWS::SQS::Queue', 2);
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 30,
      MessageRetentionPeriod: 4 * 24 * 3600,
      ReceiveMessageWaitTimeSeconds: 20,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('TasksDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    // enforceSSL on both queues
    const policies = resourcesOf(template, 'AWS::SQS::QueuePolicy');
    expect(policies).toHaveLength(2);
    for (const [, policy] of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toEqual(expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      ]));
    }
  });

  test('the main queue has the logical id of its Resource child, stable across versions', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    expect(stack.getLogicalId(queue.queue.node.defaultChild as sqs.CfnQueue)).toMatch(/^Tasks[0-9A-F]{8}$/);
    expect(stack.getLogicalId(queue.deadLetterQueue.node.defaultChild as sqs.CfnQueue)).toMatch(/^TasksDeadLetterQueue[0-9A-F]{8}$/);
  });

  test('maxReceiveCount, visibility timeout and retention reach the template', () => {
    const stack = testStack();
    new AgentQueue(stack, 'Tasks', {
      maxReceiveCount: 3,
      visibilityTimeout: Duration.minutes(15),
      retentionPeriod: Duration.days(1),
      deadLetterRetentionPeriod: Duration.days(7),
    });
    const template = synthTemplate(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 900, MessageRetentionPeriod: 86400, RedrivePolicy: Match.objectLike({ maxReceiveCount: 3 }),
    });
    template.hasResourceProperties('AWS::SQS::Queue', { MessageRetentionPeriod: 7 * 86400 });
  });

  test('KMS encryption creates a rotating key for both queues, or uses the one given', () => {
    const stack = testStack();
    new AgentQueue(stack, 'Made', { encryption: AgentQueueEncryption.KMS });
    const key = new kms.Key(stack, 'Given');
    new AgentQueue(stack, 'WithKey', { encryptionKey: key });
    const template = synthTemplate(stack);
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const encrypted = resourcesOf(template, 'AWS::SQS::Queue').filter(([, q]) => q.Properties.KmsMasterKeyId);
    expect(encrypted).toHaveLength(4);
    expect(encrypted.filter(([id]) => id.startsWith('WithKey')).map(([, q]) => q.Properties.KmsMasterKeyId))
      .toEqual([{ 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] }, { 'Fn::GetAtt': [stack.getLogicalId(key.node.defaultChild as kms.CfnKey), 'Arn'] }]);
  });

  test('grantConsume and grantSend give the SQS actions, and KMS actions on the key', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks', { encryption: AgentQueueEncryption.KMS });
    const worker = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    const producer = new iam.Role(stack, 'Producer', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
    queue.grantConsume(worker);
    queue.grantSend(producer);
    const template = synthTemplate(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Worker') }],
      PolicyDocument: { Statement: Match.arrayWith([
        Match.objectLike({ Action: Match.arrayWith(['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage']) }),
        Match.objectLike({ Action: 'kms:Decrypt' }),
      ]) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('Producer') }],
      PolicyDocument: { Statement: Match.arrayWith([
        Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']) }),
        Match.objectLike({ Action: Match.arrayWith(['kms:Encrypt', 'kms:GenerateDataKey*']) }),
      ]) },
    });
  });

  test('metrics are named after the SQS metrics of the right queue', () => {
    const stack = testStack();
    const queue = new AgentQueue(stack, 'Tasks');
    expect(queue.metricVisible().metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(queue.metricInFlight().metricName).toBe('ApproximateNumberOfMessagesNotVisible');
    expect(queue.metricDelayed().metricName).toBe('ApproximateNumberOfMessagesDelayed');
    expect(queue.metricOldestMessageAge().metricName).toBe('ApproximateAgeOfOldestMessage');
    const deadLetters = queue.metricDeadLetters();
    expect(deadLetters.metricName).toBe('ApproximateNumberOfMessagesVisible');
    expect(deadLetters.dimensions).toEqual({ QueueName: queue.deadLetterQueue.queueName });
  });

  test('fromQueues adopts existing queues, with grants and metrics', () => {
    const stack = testStack();
    const existing = sqs.Queue.fromQueueArn(stack, 'Q', 'arn:aws:sqs:eu-west-1:111111111111:tasks');
    const dlq = sqs.Queue.fromQueueArn(stack, 'D', 'arn:aws:sqs:eu-west-1:111111111111:tasks-dlq');
    const adopted = AgentQueue.fromQueues(stack, 'Adopted', { queue: existing, deadLetterQueue: dlq, visibilityTimeout: Duration.minutes(10) });
    const role = new iam.Role(stack, 'Worker', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') });
    adopted.grantConsume(role);
    expect(adopted.visibilityTimeout?.toSeconds()).toBe(600);
    expect(adopted.metricDeadLetters().dimensions).toEqual({ QueueName: 'tasks-dlq' });
    synthTemplate(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [Match.objectLike({ Resource: 'arn:aws:sqs:eu-west-1:111111111111:tasks' })] },
    });
    const withoutDlq = AgentQueue.fromQueues(stack, 'NoDlq', { queue: existing });
    expect(() => withoutDlq.metricDeadLetters()).toThrow(/TestStack\/NoDlq: metricDeadLetters needs a dead-letter queue/);
  });

  describe('validation', () => {
    test.each([
      ['maxReceiveCount', { maxReceiveCount: 0 }, /maxReceiveCount: must be an integer 1-1000, got 0/],
      ['maxReceiveCount', { maxReceiveCount: 1001 }, /maxReceiveCount: must be an integer 1-1000, got 1001/],
      ['visibilityTimeout', { visibilityTimeout: Duration.hours(13) }, /visibilityTimeout: must be 2-43200 seconds, got 46800 seconds/],
      ['retentionPeriod', { retentionPeriod: Duration.days(15) }, /retentionPeriod: must be 60-1209600 seconds, got 1296000 seconds/],
      ['deadLetterRetentionPeriod', { deadLetterRetentionPeriod: Duration.seconds(30) }, /deadLetterRetentionPeriod: must be 60-1209600 seconds, got 30 seconds/],
    ])('%s out of range is an error naming the path, the prop, the range and the value', (_prop, props, message) => {
      const stack = testStack();
      expect(() => new AgentQueue(stack, 'Tasks', props)).toThrow(message);
      expect(() => new AgentQueue(testStack(), 'Tasks', props)).toThrow(/^TestStack\/Tasks: invalid configuration/);
    });

    test('an SQS-managed queue with a KMS key is a conflict naming both props', () => {
      const stack = testStack();
      expect(() => new AgentQueue(stack, 'Tasks', { encryption: AgentQueueEncryption.SQS_MANAGED, encryptionKey: new kms.Key(stack, 'K') }))
        .toThrow(/encryptionKey: must be unset with encryption SQS_MANAGED/);
    });

    test('all problems are reported in one error', () => {
      expect(() => new AgentQueue(testStack(), 'Tasks', { maxReceiveCount: 0, retentionPeriod: Duration.days(30) }))
        .toThrow(/\(2 problems\)[\s\S]*maxReceiveCount[\s\S]*retentionPeriod/);
    });

    test('values not known at synth (tokens) are not checked', () => {
      const stack = testStack();
      const count = new CfnParameter(stack, 'Count', { type: 'Number' }).valueAsNumber;
      expect(() => new AgentQueue(stack, 'Tasks', { maxReceiveCount: count })).not.toThrow();
    });
  });
});
