import * as fs from 'node:fs';
import * as path from 'node:path';
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

/**
 * Synthesizes the app of `stack` with its validation plugins (CloudFormation schema validation,
 * and cdk-nag where added), which throw on any finding, and returns the stack's template.
 * `Template.fromStack` alone would skip those plugins.
 */
export function synthTemplate(stack: Stack): Template {
  const assembly = (stack.node.root as App).synth({ force: true });
  return Template.fromJSON(assembly.getStackArtifact(stack.artifactId).template);
}

/** A public image, so tests need no asset directory. */
export const TEST_IMAGE = AgentImage.fromRegistry('public.ecr.aws/docker/library/node:20-alpine');

/** Resources of a type in a template, as [logicalId, resource] pairs. */
export function resourcesOf(template: Template, type: string): [string, { Properties: Record<string, any> }][] {
  return Object.entries(template.findResources(type)) as [string, { Properties: Record<string, any> }][];
}

/** One violation in the validation report that synth writes (schema validation, cdk-nag). */
export interface Violation {
  readonly pluginName: string;
  readonly ruleName: string;
  readonly description: string;
  readonly constructPaths: string[];
}

/**
 * Synthesizes the app of `stack` with its validation plugins, and returns every violation they
 * reported (an empty list when synth passed).
 */
export function validationViolations(stack: Stack): Violation[] {
  const app = stack.node.root as App;
  const quiet = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  try {
    app.synth({ force: true });
  } catch (error) {
    if ((error as Error).name !== 'ValidationFailed') throw error;
  } finally {
    quiet.mockRestore();
  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: { pluginName: string; violations: { ruleName: string; description: string; violatingConstructs: { constructPath: string }[] }[] }[];
  };
  return report.pluginReports.flatMap((plugin) => plugin.violations.map((v) => ({
    pluginName: plugin.pluginName,
    ruleName: v.ruleName,
    description: v.description,
    constructPaths: v.violatingConstructs.map((c) => c.constructPath),
  })));
}

/**
 * The Kubernetes objects of a template's manifests (`Custom::AWSCDK-EKS-KubernetesResource`),
 * with every CloudFormation token inside a string shown as `<token>`.
 */
export function kubernetesManifests(template: Template): any[] {
  const text = (value: unknown): string => {
    if (typeof value === 'string') return value;
    const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
    return join ? join[1].map((part) => (typeof part === 'string' ? part : '<token>')).join(join[0]) : '<token>';
  };
  return resourcesOf(template, 'Custom::AWSCDK-EKS-KubernetesResource').flatMap(([, r]) => JSON.parse(text(r.Properties.Manifest)));
}
