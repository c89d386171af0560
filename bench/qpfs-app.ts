// The baseline of bench/synth-time.ts: aws-ecs-patterns' QueueProcessingFargateService with the
// same image source, size and bounds as the reference app's Fargate stack.
import * as path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as ecsPatterns from 'aws-cdk-lib/aws-ecs-patterns';

const app = new App();
const stack = new Stack(app, 'QueueProcessingFargateServiceStack');
new ecsPatterns.QueueProcessingFargateService(stack, 'Agents', {
  image: ecs.ContainerImage.fromAsset(path.join(__dirname, '..'), { file: 'agent/Dockerfile' }),
  cpu: 512,
  memoryLimitMiB: 1024,
  minScalingCapacity: 0,
  maxScalingCapacity: 20,
});
