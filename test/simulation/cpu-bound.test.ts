import { cpuBoundFigures, cpuBoundParams, cpuBoundPolicies, cpuBoundTrace, CPU_BOUND_PARAMS, CPU_TARGET_PERCENT, parseCpuBoundArgs } from '../../lib/simulation/cpu-bound';
import { simulate } from '../../lib/simulation/engine';
import type { SimulationParams } from '../../lib/simulation/params';
import { materialize } from '../../lib/simulation/trace';

/** The scenario's three policies on seed 1: their descriptions and figures. */
function runSeed1(params: SimulationParams) {
  const trace = cpuBoundTrace(1);
  const messages = materialize(trace, params);
  const policies = cpuBoundPolicies(params);
  const [backlog, cpu, qpfs] = policies.map((p) => cpuBoundFigures(simulate(messages, p, params, trace.durationSeconds + params.tailSeconds)));
  return { descriptions: policies.map((p) => p.description), backlog, cpu, qpfs };
}

describe('the CPU-bound scenario (seed 1)', () => {
  const { backlog, cpu, qpfs } = runSeed1(CPU_BOUND_PARAMS);

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

describe('the CPU-bound scenario on EC2 (seed 1): the exact scale-in keeps the workers CPU needs', () => {
  const { descriptions, backlog, cpu, qpfs } = runSeed1(cpuBoundParams('ec2'));

  test('ours runs the EC2 group\'s rules: the exact scale-in, from the warm pool', () => {
    expect(descriptions[1]).toContain('scale-in to the workers to keep');
    expect(descriptions[1]).toContain('warm pool');
  });

  test('with cpuTargetPercent the plateau holds under the target, with no flap and no busy worker removed', () => {
    expect(backlog.plateauCpuMean).toBeGreaterThan(CPU_TARGET_PERCENT + 15);
    expect(cpu.plateauCpuMean).toBeLessThanOrEqual(CPU_TARGET_PERCENT);
    expect(cpu.plateauCpuMean).toBeGreaterThan(CPU_TARGET_PERCENT * 0.75);
    expect(cpu.flaps).toBe(0);
    expect(cpu.busyWorkersRemoved).toBe(0);
    expect(cpu.released).toBe(0);
    expect(cpu.waitP95Seconds).toBeLessThan(backlog.waitP95Seconds);
  });

  test('CPU target tracking that also scales in flaps and removes busy workers on EC2 too', () => {
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
  });
});
