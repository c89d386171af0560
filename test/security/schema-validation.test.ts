import * as sqs from 'aws-cdk-lib/aws-sqs';
import { CDK_CONTEXT, testStack, validationViolations, synthTemplate } from '../support/cdk';

// aws-cdk-lib's CloudFormation schema validator runs at synth (cdk.json turns it on with
// @aws-cdk/core:validateAgainstDefaultRules), in `cdk synth` and in every test stack.
describe('CloudFormation schema validation', () => {
  test('the tests use the context of cdk.json, which turns it on', () => {
    expect(CDK_CONTEXT['@aws-cdk/core:validateAgainstDefaultRules']).toBe(true);
  });

  test('a misspelt property and a wrong type fail synth, with the rule and the property named', () => {
    // GIVEN a queue whose template has a misspelt property and a string where a number belongs
    const stack = testStack();
    const queue = new sqs.Queue(stack, 'Queue', { enforceSSL: true });
    const cfn = queue.node.defaultChild as sqs.CfnQueue;
    cfn.addPropertyOverride('VisibilityTimeOut', 30);
    cfn.addPropertyOverride('DelaySeconds', 'soon');
    // THEN both are reported, and synth fails
    expect(validationViolations(stack)).toEqual(expect.arrayContaining([
      expect.objectContaining({ ruleName: 'F3002', description: expect.stringContaining('VisibilityTimeOut') }),
      expect.objectContaining({ ruleName: 'F3012', description: expect.stringContaining("'soon' is not of type 'integer'") }),
    ]));
    expect(() => synthTemplate(stack)).toThrow(/VisibilityTimeOut: Additional properties are not allowed/);
  });

  test('a valid template passes', () => {
    const stack = testStack();
    new sqs.Queue(stack, 'Queue', { enforceSSL: true });
    expect(validationViolations(stack)).toEqual([]);
  });
});
