import { CfnResource, Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnRole, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

// Acknowledgements of AwsSolutions findings that the construct's defaults cannot satisfy, in the
// forms both cdk-nag majors read, so they hold whichever one the user's app runs:
// - cdk-nag v3 reads CDK's validation acknowledgements (`Validations.of(scope).acknowledge`);
// - cdk-nag v2 reads each CloudFormation resource's `cdk_nag` metadata (what its
//   `NagSuppressions` writes).
// Both are no-ops unless the app runs cdk-nag.

/** One entry of cdk-nag v2's `cdk_nag.rules_to_suppress` resource metadata. */
interface NagSuppression {
  readonly id: string;
  readonly reason: string;
  /** IAM5 findings, e.g. `Resource::<Bucket.Arn>/*`: only these are suppressed. */
  readonly applies_to?: string[];
}

/**
 * Acknowledges one AwsSolutions rule on `scope` (pass the construct the rule flags, e.g. the task
 * definition for ECS2), with the reason. For cdk-nag v2 it is written on the scope's own resource
 * (its default child), or, for a scope without one, on every resource it contains.
 */
export function acknowledgeRule(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
  const own = scope.node.defaultChild;
  suppressInMetadata(own && CfnResource.isCfnResource(own) ? [own] : resourcesUnder(scope), { id: `AwsSolutions-${rule}`, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for exactly one wildcard resource, named as cdk-nag names it
 * (`Ref`s as `<LogicalId>`, pseudo parameters as `<AWS::Region>`), so any other wildcard in the
 * same policy is still reported.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  const finding = `Resource::${nagName(Stack.of(scope), resource)}`;
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
  suppressInMetadata(resourcesUnder(scope), { id: 'AwsSolutions-IAM5', reason, applies_to: [finding] });
}

/**
 * Acknowledges a wildcard resource on the policy of a grantee, when the grantee is a construct
 * (a role of ours); imported principals have no policy of ours to report.
 */
export function acknowledgeGranteeWildcard(grantee: IGrantable, resource: string, reason: string): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) acknowledgeWildcardResource(principal, resource, reason);
}

/**
 * cdk-nag v2's form, merged into what the resources already carry. It goes on resources that exist
 * now: acknowledge after the grant or resource it is about (cdk-nag v2 reads the metadata in its
 * aspect, which may run before any lazy value would).
 */
function suppressInMetadata(resources: CfnResource[], suppression: NagSuppression): void {
  for (const resource of resources) {
    const existing = (resource.getMetadata('cdk_nag') as { rules_to_suppress?: NagSuppression[] } | undefined)?.rules_to_suppress ?? [];
    const merged = [...existing, suppression].filter((s, i, all) => all.findIndex((o) => JSON.stringify(o) === JSON.stringify(s)) === i);
    resource.addMetadata('cdk_nag', { rules_to_suppress: merged });
  }
}

function resourcesUnder(scope: IConstruct): CfnResource[] {
  return scope.node.findAll().filter(CfnResource.isCfnResource);
}

function nagName(stack: Stack, value: string): string {
  if (!Token.isUnresolved(value)) return value;
  return render(stack.resolve(value));
}

function render(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Record<string, unknown>;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(render).join(sep);
  }
  if ('Ref' in v) return `<${v.Ref as string}>`;
  if ('Fn::GetAtt' in v) return `<${(v['Fn::GetAtt'] as string[]).join('.')}>`;
  return JSON.stringify(value);
}

/**
 * Acknowledges AwsSolutions-IAM4 for each AWS managed policy of the roles under `scope`, named as
 * cdk-nag names them, for constructs of CDK's own that require them (EKS clusters, their providers).
 */
export function acknowledgeManagedPolicies(scope: IConstruct, reason: string): void {
  const stack = Stack.of(scope);
  for (const role of scope.node.findAll().filter((c): c is CfnRole => c instanceof CfnRole)) {
    for (const arn of (stack.resolve(role.managedPolicyArns) ?? []) as unknown[]) {
      const finding = `Policy::${render(arn)}`;
      Validations.of(role).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM4[${finding}]`, reason });
      suppressInMetadata([role], { id: 'AwsSolutions-IAM4', reason, applies_to: [finding] });
    }
  }
}
