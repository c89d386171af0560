#!/usr/bin/env node
// The reference app: the same agent fleet on Fargate, on EC2 and on EKS, each an ElasticAgentFleet built
// from the reference agent in agent/. `npx cdk synth` works offline with no AWS account.
import { App } from 'aws-cdk-lib';
import { AgentFleetEc2Stack, AgentFleetEksStack, AgentFleetFargateStack } from './reference-stacks';

const app = new App();
new AgentFleetFargateStack(app, 'AgentFleetFargateStack', {
  description: 'cdk-agent-fleet reference: SQS task queue and an elastic fleet of agent workers on ECS Fargate',
});
new AgentFleetEc2Stack(app, 'AgentFleetEc2Stack', {
  description: 'cdk-agent-fleet reference: SQS task queue and an elastic fleet of agent workers on EC2 Auto Scaling',
});
new AgentFleetEksStack(app, 'AgentFleetEksStack', {
  description: 'cdk-agent-fleet reference: SQS task queue and an elastic fleet of agent workers on EKS, scaled by KEDA',
});
