import { Fn } from 'aws-cdk-lib';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeGranteeWildcard } from '../nag-acknowledgements';
import { check } from '../policy/violation';
import { throwIfInvalid } from '../validation';

/** Options of `AgentImage.fromAsset`. */
export interface AgentImageAssetOptions {
  /**
   * The Dockerfile, relative to the directory.
   * @default 'Dockerfile'
   */
  readonly file?: string;
  /**
   * Paths (globs, as in .dockerignore) of the directory left out of the build context.
   * @default - what the directory's .dockerignore says
   */
  readonly exclude?: string[];
  /**
   * Build arguments.
   * @default - none
   */
  readonly buildArgs?: Record<string, string>;
  /**
   * The platform to build for. The fleet sets it from its CPU architecture; a platform given
   * here must agree with it.
   * @default - the fleet's architecture (Fargate `cpuArchitecture`, the EC2 instance type's)
   */
  readonly platform?: ecrAssets.Platform;
}

/** What a fleet tells the image it binds. */
export interface AgentImageBindOptions {
  /**
   * The platform the fleet's workers run on, so an image built at deploy runs there.
   * @default - unknown: an asset is built for the deploying machine's platform
   */
  readonly platform?: ecrAssets.Platform;
  /**
   * The prop and value that decided `platform`, as errors name them (e.g. `cpuArchitecture ARM64`).
   * @default - 'architecture'
   */
  readonly platformSource?: string;
}

/** What a fleet needs to run an image. */
export interface AgentImageConfig {
  /** The image for an ECS container definition. */
  readonly containerImage: ecs.ContainerImage;
  /** The image URI for `docker pull` (EC2 fleets). */
  readonly imageUri: string;
  /** The ECR registry to log in to before pulling, when the image is in ECR. */
  readonly ecrRegistry?: string;
}

/**
 * Where the agent's container image comes from, for both fleets: a directory built at deploy
 * time (synth only stages it: no Docker needed), an image in a registry, or an ECR repository.
 */
export abstract class AgentImage {
  /**
   * An image built from a directory with a Dockerfile. `cdk synth` only stages the directory;
   * `cdk deploy` builds and pushes it to the bootstrap ECR repository.
   */
  public static fromAsset(directory: string, options: AgentImageAssetOptions = {}): AgentImage {
    return new AssetAgentImage(directory, options);
  }

  /** A public image, or one in a registry the fleet can pull from without credentials. */
  public static fromRegistry(imageUri: string): AgentImage {
    return new RegistryAgentImage(imageUri);
  }

  /**
   * An image in an ECR repository.
   * @param tag the image tag. @default 'latest'
   */
  public static fromEcrRepository(repository: ecr.IRepository, tag: string = 'latest'): AgentImage {
    return new EcrAgentImage(repository, tag);
  }

  /**
   * Makes the image usable by a fleet: creates what it needs under `scope` and grants `puller`
   * the right to pull it.
   */
  public abstract bind(scope: Construct, puller: iam.IGrantable, options?: AgentImageBindOptions): AgentImageConfig;
}

class AssetAgentImage extends AgentImage {
  constructor(private readonly directory: string, private readonly options: AgentImageAssetOptions) {
    super();
  }

  public bind(scope: Construct, puller: iam.IGrantable, bindOptions: AgentImageBindOptions = {}): AgentImageConfig {
    // `cdk deploy` builds the asset with `docker build --platform` when one is set, and otherwise
    // for the machine it runs on: an arm64 laptop's image fails with `exec format error` on x86
    // tasks and instances. Fargate runs the task definition's runtimePlatform.cpuArchitecture
    // (Amazon ECS Developer Guide, "Amazon ECS task definitions for 64-bit ARM workloads"); an EC2
    // instance, its instance type's architecture.
    const fleetPlatform = bindOptions.platform?.platform;
    const ownPlatform = this.options.platform?.platform;
    throwIfInvalid(scope, check(fleetPlatform === undefined || ownPlatform === undefined || ownPlatform === fleetPlatform,
      'image (AgentImage.fromAsset platform)', `${fleetPlatform} (the fleet's ${bindOptions.platformSource ?? 'architecture'})`, ownPlatform));
    const asset = new ecrAssets.DockerImageAsset(scope, 'AgentImage', {
      directory: this.directory,
      ...this.options,
      platform: this.options.platform ?? bindOptions.platform,
    });
    grantPull(asset.repository, puller);
    return {
      containerImage: ecs.ContainerImage.fromDockerImageAsset(asset),
      imageUri: asset.imageUri,
      ecrRegistry: registryOf(asset.repository),
    };
  }
}

class RegistryAgentImage extends AgentImage {
  constructor(private readonly imageUri: string) {
    super();
  }

  public bind(): AgentImageConfig {
    return { containerImage: ecs.ContainerImage.fromRegistry(this.imageUri), imageUri: this.imageUri };
  }
}

class EcrAgentImage extends AgentImage {
  constructor(private readonly repository: ecr.IRepository, private readonly tag: string) {
    super();
  }

  public bind(_scope: Construct, puller: iam.IGrantable): AgentImageConfig {
    grantPull(this.repository, puller);
    return {
      containerImage: ecs.ContainerImage.fromEcrRepository(this.repository, this.tag),
      imageUri: this.repository.repositoryUriForTag(this.tag),
      ecrRegistry: registryOf(this.repository),
    };
  }
}

/** Grants a pull from an ECR repository; the login token it needs can't be scoped. */
function grantPull(repository: ecr.IRepository, puller: iam.IGrantable): void {
  repository.grantPull(puller);
  acknowledgeGranteeWildcard(puller, '*',
    'ecr:GetAuthorizationToken supports no resource-level permission; the pull itself is granted on the one repository.');
}

/** `<account>.dkr.ecr.<region>.<suffix>`: the host part of a repository URI. */
function registryOf(repository: ecr.IRepository): string {
  return Fn.select(0, Fn.split('/', repository.repositoryUri));
}
