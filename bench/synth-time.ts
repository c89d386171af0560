// Synth time of the reference app (both stacks) next to an equivalent QueueProcessingFargateService
// app, with the same CLI, context and machine, alternating runs: prints each median and the ratio.
//   npx tsx bench/synth-time.ts [runs]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..');
const runs = Number(process.argv[2] ?? 5);

function synthSeconds(app: string): number {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'synth-bench-'));
  const start = process.hrtime.bigint();
  const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--app', app, '--output', out], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true' },
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  fs.rmSync(out, { recursive: true, force: true });
  if (result.status !== 0) throw new Error(`${app} failed:\n${result.stderr}`);
  return seconds;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const ours: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < runs; i++) {
  ours.push(synthSeconds('npx tsx bin/agent-fleet.ts'));
  baseline.push(synthSeconds('npx tsx bench/qpfs-app.ts'));
  process.stderr.write(`run ${i + 1}/${runs}: ours ${ours[i].toFixed(2)} s, QueueProcessingFargateService ${baseline[i].toFixed(2)} s\n`);
}
console.log('| app | median synth (s) |');
console.log('|---|---|');
console.log(`| reference app (Fargate + EC2 stacks) | ${median(ours).toFixed(2)} |`);
console.log(`| QueueProcessingFargateService (baseline) | ${median(baseline).toFixed(2)} |`);
console.log(`| ratio ours / baseline | ${(median(ours) / median(baseline)).toFixed(2)} |`);
