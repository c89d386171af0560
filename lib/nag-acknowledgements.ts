import { Stack, Token, Validations } from 'aws-cdk-lib';
import { CfnRole, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct, type IConstruct } from 'constructs';

/**
 * Acknowledges, on `scope` and what it contains, one AwsSolutions rule that the construct's
 * defaults cannot satisfy, with the reason. The acknowledgement is a no-op unless the app runs
 * cdk-nag (`Validations.of(app).addPlugins(new AwsSolutionsChecks(app))`).
 */
export function acknowledgeRule(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::AwsSolutions-${rule}`, reason });
}

/**
 * Acknowledges AwsSolutions-IAM5 for exactly one wildcard resource, named as cdk-nag names it
 * (`Ref`s as `<LogicalId>`, pseudo parameters as `<AWS::Region>`), so any other wildcard in the
 * same policy is still reported.
 */
export function acknowledgeWildcardResource(scope: IConstruct, resource: string, reason: string): void {
  acknowledgeRule(scope, `IAM5[Resource::${nagName(Stack.of(scope), resource)}]`, reason);
}

/**
 * Acknowledges a wildcard resource on the policy of a grantee, when the grantee is a construct
 * (a role of ours); imported principals have no policy of ours to report.
 */
export function acknowledgeGranteeWildcard(grantee: IGrantable, resource: string, reason: string): void {
  const principal = grantee.grantPrincipal;
  if (Construct.isConstruct(principal)) acknowledgeWildcardResource(principal, resource, reason);
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
      acknowledgeRule(role, `IAM4[Policy::${render(arn)}]`, reason);
    }
  }
}
