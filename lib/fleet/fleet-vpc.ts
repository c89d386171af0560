import { Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { check, type Violation } from '../policy/violation';
import type { Construct } from 'constructs';

/**
 * The VPC a fleet makes when it is given none: two AZs, private subnets with egress through one
 * NAT gateway (workers have no public IP), and flow logs of rejected traffic to CloudWatch Logs,
 * kept as long as the fleet's own logs.
 */
export function createFleetVpc(scope: Construct, logRetention: logs.RetentionDays): ec2.Vpc {
  const vpc = new ec2.Vpc(scope, 'Vpc', {
    maxAzs: 2,
    natGateways: 1,
    subnetConfiguration: [
      { name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
      { name: 'Workers', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
    ],
  });
  vpc.addFlowLog('FlowLog', {
    trafficType: ec2.FlowLogTrafficType.REJECT,
    destination: ec2.FlowLogDestination.toCloudWatchLogs(new logs.LogGroup(vpc, 'FlowLogs', { retention: logRetention })),
  });
  return vpc;
}

/**
 * Workers the selected subnets can hold: each Fargate task or EC2 instance takes one IP address,
 * and AWS reserves 5 in every subnet. Undefined when a subnet's CIDR is not known at synth.
 */
export function subnetCapacity(vpc: ec2.IVpc, selection: ec2.SubnetSelection): number | undefined {
  let total = 0;
  for (const subnet of vpc.selectSubnets(selection).subnets) {
    let cidr: string;
    try {
      cidr = subnet.ipv4CidrBlock;
    } catch {
      return undefined; // an imported subnet without its CIDR
    }
    if (Token.isUnresolved(cidr)) return undefined;
    total += 2 ** (32 - Number(cidr.split('/')[1])) - 5;
  }
  return total;
}

/** The rules that the subnets exist in the VPC and maxWorkers fits in them. */
export function checkSubnetCapacity(vpc: ec2.IVpc, selection: ec2.SubnetSelection, maxWorkers: number): Violation[] {
  try {
    vpc.selectSubnets(selection);
  } catch (error) {
    // e.g. an isolated-only VPC: CDK's own error names no construct and no prop.
    return check(false, 'vpcSubnets', 'subnets the VPC has (by default: private subnets with egress; give vpcSubnets for others)',
      (error as Error).message);
  }
  const capacity = subnetCapacity(vpc, selection);
  return capacity === undefined || Token.isUnresolved(maxWorkers)
    ? []
    : check(maxWorkers <= capacity, 'maxWorkers', `<= ${capacity}, the IP addresses left in the workers' subnets`, maxWorkers);
}
