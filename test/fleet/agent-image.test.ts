import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { AgentImage, AgentQueue, Ec2AgentFleet, FargateAgentFleet, type AgentImageAssetOptions } from '../../lib';
import { testStack } from '../support/cdk';

const agentDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-image-'));
fs.writeFileSync(path.join(agentDir, 'Dockerfile'), 'FROM public.ecr.aws/docker/library/node:22-alpine\n');

/** The platform of every Docker image in the stack's asset manifest (what `cdk deploy` passes to `docker build --platform`). */
function imagePlatforms(stack: Stack): (string | undefined)[] {
  const assembly = (stack.node.root as App).synth({ force: true });
  const manifest = JSON.parse(fs.readFileSync(path.join(assembly.directory, `${stack.artifactId}.assets.json`), 'utf8')) as {
    dockerImages: Record<string, { source: { platform?: string } }>;
  };
  return Object.values(manifest.dockerImages).map((image) => image.source.platform);
}

function fargate(cpuArchitecture?: ecs.CpuArchitecture, options: AgentImageAssetOptions = {}): Stack {
  const stack = testStack();
  const queue = new AgentQueue(stack, 'Tasks');
  new FargateAgentFleet(stack, 'Fleet', { queue, image: AgentImage.fromAsset(agentDir, options), cpuArchitecture });
  return stack;
}

function ec2Fleet(instanceType?: ec2.InstanceType, options: AgentImageAssetOptions = {}): Stack {
  const stack = testStack();
  const queue = new AgentQueue(stack, 'Tasks');
  new Ec2AgentFleet(stack, 'Fleet', { queue, image: AgentImage.fromAsset(agentDir, options), instanceType });
  return stack;
}

describe('AgentImage.fromAsset builds for the fleet\'s architecture, not the deploying machine\'s', () => {
  test('Fargate: the task\'s cpuArchitecture sets the platform (x86_64 by default)', () => {
    expect(imagePlatforms(fargate())).toEqual(['linux/amd64']);
    expect(imagePlatforms(fargate(ecs.CpuArchitecture.ARM64))).toEqual(['linux/arm64']);
  });

  test('EC2: the instance type\'s architecture sets the platform (t3 by default)', () => {
    expect(imagePlatforms(ec2Fleet())).toEqual(['linux/amd64']);
    expect(imagePlatforms(ec2Fleet(new ec2.InstanceType('m7g.large')))).toEqual(['linux/arm64']);
  });

  test('an explicit platform that agrees is kept', () => {
    expect(imagePlatforms(fargate(ecs.CpuArchitecture.ARM64, { platform: ecrAssets.Platform.LINUX_ARM64 }))).toEqual(['linux/arm64']);
  });

  test('an explicit platform that contradicts the fleet is an error naming the path, the props and both values', () => {
    expect(() => fargate(ecs.CpuArchitecture.ARM64, { platform: ecrAssets.Platform.LINUX_AMD64 }))
      .toThrow(/^TestStack\/Fleet: invalid configuration[\s\S]*image \(AgentImage\.fromAsset platform\): must be linux\/arm64 \(the fleet's cpuArchitecture ARM64\), got linux\/amd64/);
    expect(() => ec2Fleet(new ec2.InstanceType('c7g.large'), { platform: ecrAssets.Platform.LINUX_AMD64 }))
      .toThrow(/^TestStack\/Fleet: invalid configuration[\s\S]*image \(AgentImage\.fromAsset platform\): must be linux\/arm64 \(the fleet's instanceType c7g\.large\), got linux\/amd64/);
  });
});
