import { cpuBoundFigures, cpuBoundParams, cpuBoundPolicies, cpuBoundTrace, CPU_TARGET_PERCENT, parseCpuBoundArgs } from '../../lib/simulation/cpu-bound';
import { simulate } from '../../lib/simulation/engine';
import type { ComputeKind } from '../../lib/simulation/params';
import { materialize } from '../../lib/simulation/trace';

// On Fargate ours scales in by steps; on EC2 by the exact scale-in, from the warm pool.
describe.each<ComputeKind>(['fargate', 'ec2'])('the CPU-bound scenario on %s (seed 1)', (compute) => {
  const params = cpuBoundParams(compute);
  const trace = cpuBoundTrace(1);
  const messages = materialize(trace, params);
  const policies = cpuBoundPolicies(params);
  const [backlog, cpu, qpfs] = policies.map((p) => cpuBoundFigures(simulate(messages, p, params, trace.durationSeconds + params.tailSeconds)));

  test('ours runs the compute\'s scale-in: steps on Fargate, the workers to keep from the warm pool on EC2', () => {
    const ec2 = compute === 'ec2';
    expect(policies[1].description.includes('scale-in to the workers to keep')).toBe(ec2);
    expect(policies[1].description.includes('warm pool')).toBe(ec2);
  });

  test('on the backlog alone the fleet runs hot: the short backlog calls for few workers', () => {
    expect(backlog.plateauCpuMean).toBeGreaterThan(CPU_TARGET_PERCENT + 15);
  });

  test('with cpuTargetPercent the plateau holds under the target, with no flap and no busy worker removed', () => {
    expect(cpu.plateauCpuMean).toBeLessThanOrEqual(CPU_TARGET_PERCENT);
    expect(cpu.plateauCpuMean).toBeGreaterThan(CPU_TARGET_PERCENT * 0.75);
    expect(cpu.flaps).toBe(0);
    expect(cpu.busyWorkersRemoved).toBe(0);
    expect(cpu.released).toBe(0);
    expect(cpu.waitP95Seconds).toBeLessThan(backlog.waitP95Seconds);
  });

  test('QueueProcessingFargateService\'s CPU target tracking, which also scales in, flaps and removes busy workers', () => {
    expect(qpfs.flaps).toBeGreaterThan(10);
    expect(qpfs.busyWorkersRemoved).toBeGreaterThan(0);
  });
});

describe('npm run simulate:cpu-bound arguments', () => {
  test('both computes and seed 1 by default; --compute and seeds choose', () => {
    expect(parseCpuBoundArgs([])).toEqual({ computes: ['fargate', 'ec2'], seeds: [1] });
    expect(parseCpuBoundArgs(['--compute', 'ec2', '2', '3'])).toEqual({ computes: ['ec2'], seeds: [2, 3] });
  });

  test('an unknown compute or argument is one clear error', () => {
    expect(() => parseCpuBoundArgs(['--compute', 'k8s'])).toThrow('--compute must be one of fargate, ec2; got "k8s"');
    expect(() => parseCpuBoundArgs(['--compute'])).toThrow('got nothing');
    expect(() => parseCpuBoundArgs(['-1'])).toThrow('unknown argument "-1"');
    expect(() => parseCpuBoundArgs(['4294967296'])).toThrow('a seed must be 0-4294967295; got 4294967296');
  });
});
