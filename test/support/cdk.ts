import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AgentImage } from '../../lib';

/** The context `cdk synth` uses (feature flags, schema validation): jest's App doesn't read cdk.json. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const CDK_CONTEXT: Record<string, unknown> = require('../../cdk.json').context;

/** A stack in an app with the project's context. */
export function testStack(id = 'TestStack'): Stack {
  return new Stack(new App({ context: CDK_CONTEXT }), id);
}

/** A public image, so tests need no asset directory. */
export const TEST_IMAGE = AgentImage.fromRegistry('public.ecr.aws/docker/library/node:20-alpine');

/** Resources of a type in a template, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties: Record<string, any> }][] {
  return Object.entries(template.findResources(type)) as [string, { Properties: Record<string, any> }][];
}
