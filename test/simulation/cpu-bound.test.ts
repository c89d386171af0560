import { cpuBoundFigures, cpuBoundPolicies, cpuBoundTrace, CPU_BOUND_PARAMS, CPU_TARGET_PERCENT } from '../../lib/simulation/cpu-bound';
import { simulate } from '../../lib/simulation/engine';
import { materialize } from '../../lib/simulation/trace';

describe('the CPU-bound scenario (seed 1)', () => {
  const trace = cpuBoundTrace(1);
  const messages = materialize(trace, CPU_BOUND_PARAMS);
  const [backlog, cpu, qpfs] = cpuBoundPolicies().map((p) => cpuBoundFigures(simulate(messages, p, CPU_BOUND_PARAMS, trace.durationSeconds + CPU_BOUND_PARAMS.tailSeconds)));

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
