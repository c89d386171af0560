import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// The packed tarball, installed the way a user's project gets it, offline: the package is
// extracted into node_modules and each of its declared `dependencies` is linked from this
// repository's node_modules, and nothing else. A run-time library left in devDependencies, or a
// worker import that reaches for aws-cdk-lib, fails here as it would for a user.
const ROOT = path.join(__dirname, '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** The commands the package installs (`bin`), each run from the installed package. */
const INSTALLED_BINS: readonly (readonly [bin: string, args: (out: string) => string[], produces: string[]])[] = [
  ['cdk-agent-fleet-sim', (out) => ['--scenario', 'steady', '--no-progress', '--out', out], ['summary.csv', '.svg', '.png']],
  // Two cells in two child processes: the compiled suite worker ships and is found.
  ['cdk-agent-fleet-sim', (out) => ['--suite', '--shapes', 'steady', '--scales', 'small', '--sources', 'publisher', '--jobs', '2', '--no-progress', '--out', out], ['suite-scorecard.csv']],
];

const APP = `
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { AgentCompute, AgentImage, BacklogTarget, ElasticAgentFleet } from 'cdk-agent-fleet';

const app = new App({ outdir: process.argv[2] });
for (const [name, compute] of [
  ['Fargate', AgentCompute.fargate({ cpu: 512, memoryLimitMiB: 1024 })],
  ['Ec2', AgentCompute.ec2({ instanceType: new ec2.InstanceType('t3.medium') })],
] as const) {
  const stack = new Stack(app, name);
  new ElasticAgentFleet(stack, 'Agents', {
    image: AgentImage.fromRegistry('public.ecr.aws/docker/library/node:20-alpine'),
    compute,
    minWorkers: 0,
    maxWorkers: 20,
    target: BacklogTarget.fromLatency({ acceptableLatency: Duration.minutes(1), processingTime: Duration.seconds(6) }),
  });
}
app.synth();
`;

interface Manifest {
  readonly scripts?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly bin?: Record<string, string>;
}

/** A project with the tarball installed, its declared dependencies and `extra` (the project's own). */
function installInto(project: string, tarball: string, extra: string[] = []): string {
  const installed = path.join(project, 'node_modules', 'cdk-agent-fleet');
  fs.mkdirSync(installed, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', installed, '--strip-components=1']);
  const manifest = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8')) as Manifest;
  for (const name of [...Object.keys(manifest.dependencies ?? {}), ...extra]) {
    const link = path.join(project, 'node_modules', name);
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(path.join(NODE_MODULES, name), link, 'dir');
  }
  return installed;
}

describe('the packed package', () => {
  let dir: string;
  let tarball: string;
  let files: string[];
  let manifest: Manifest;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-fleet-pack-'));
    // `npm pack` builds first (the prepack script).
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    tarball = path.join(dir, packed.filename);
    files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean);
    manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' }));
  }, 180_000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('ships compiled JavaScript, declarations, the bundled publisher, LICENSE and docs, not the sources or tests', () => {
    expect(files).toEqual(expect.arrayContaining([
      'package/dist/lib/index.js', 'package/dist/lib/index.d.ts', 'package/dist/lib/worker/index.js',
      'package/dist/lambda/backlog-publisher/index.js', 'package/LICENSE', 'package/README.md',
    ]));
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('/test/'))).toEqual([]);
  });

  test('every relative link of the shipped README and docs points to a shipped file', () => {
    const markdown = files.filter((f) => f.endsWith('.md'));
    const broken = markdown.flatMap((file) => {
      const text = execFileSync('tar', ['-xzOf', tarball, file], { encoding: 'utf8' });
      return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1])
        .filter((target) => !/^[a-z]+:/i.test(target) && !target.startsWith('#'))
        .map((target) => path.posix.normalize(path.posix.join(path.posix.dirname(file), target.split('#')[0])))
        .filter((target) => !files.some((f) => f === target || f.startsWith(`${target}/`)))
        .map((target) => `${file} -> ${target}`);
    });
    expect(markdown.length).toBeGreaterThan(1);
    expect(broken).toEqual([]);
  });

  test('installing it runs no script (npm warns about install scripts) and does not require aws-cdk-lib', () => {
    const installTime = ['preinstall', 'install', 'postinstall', 'prepare'];
    expect(Object.keys(manifest.scripts ?? {}).filter((s) => installTime.includes(s))).toEqual([]);
    // Every peer is optional: a worker-only install needs none of them (the kubectl layer only for a new EKS cluster).
    expect(Object.keys(manifest.peerDependencies ?? {}).sort()).toEqual(['@aws-cdk/lambda-layer-kubectl-v34', 'aws-cdk-lib', 'constructs']);
    expect(Object.values(manifest.peerDependenciesMeta ?? {}).every((meta) => meta.optional === true)).toBe(true);
    expect(Object.keys(manifest.peerDependenciesMeta ?? {}).sort()).toEqual(Object.keys(manifest.peerDependencies ?? {}).sort());
  });

  test('cdk-agent-fleet/worker loads in a project without aws-cdk-lib or constructs', () => {
    const project = path.join(dir, 'worker-project');
    installInto(project, tarball);
    expect(fs.existsSync(path.join(project, 'node_modules', 'aws-cdk-lib'))).toBe(false);
    const script = `const w = require('cdk-agent-fleet/worker');
      if (typeof w.AgentWorker !== 'function') throw new Error('no AgentWorker');`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: project, env: { ...process.env, NODE_PATH: '' }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  test.each(INSTALLED_BINS)('the installed %s runs and writes its output (%#)', (bin, args, produces) => {
    const project = fs.mkdtempSync(path.join(dir, `${bin}-project-`));
    const installed = installInto(project, tarball);
    const script = path.join(installed, manifest.bin![bin]);
    expect(fs.readFileSync(script, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    const out = path.join(project, 'out');
    const run = spawnSync(process.execPath, [script, ...args(out)], { cwd: project, env: { ...process.env, NODE_PATH: '' }, encoding: 'utf8' });
    expect(run.stderr).not.toMatch(/Error|Cannot find/);
    expect(run.status).toBe(0);
    const written = fs.readdirSync(out);
    for (const suffix of produces) expect(written.filter((f) => f.endsWith(suffix))).not.toEqual([]);
  }, 120_000);

  test('a fresh app with the README snippet type-checks and synthesizes both computes', () => {
    const project = path.join(dir, 'cdk-project');
    installInto(project, tarball, ['aws-cdk-lib', 'constructs']);
    fs.writeFileSync(path.join(project, 'app.ts'), APP);
    fs.writeFileSync(path.join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'commonjs', moduleResolution: 'node10', strict: true, skipLibCheck: true, outDir: 'out',
        typeRoots: [`${NODE_MODULES}/@types`], types: ['node'],
      },
      files: ['app.ts'],
    }));
    execFileSync(process.execPath, [path.join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', project], { stdio: 'pipe' });
    const out = path.join(project, 'cdk.out');
    const run = spawnSync(process.execPath, [path.join(project, 'out', 'app.js'), out], {
      cwd: project, env: { ...process.env, NODE_PATH: '' }, encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const stack of ['Fargate', 'Ec2']) {
      const template = JSON.parse(fs.readFileSync(path.join(out, `${stack}.template.json`), 'utf8'));
      expect(Object.values<{ Type: string }>(template.Resources).filter((r) => r.Type === 'AWS::SQS::Queue')).toHaveLength(2);
    }
  });

  test('the local run ships compiled, with the reference agent\'s task, and its bin answers --help', () => {
    const project = path.join(dir, 'local-project');
    const installed = installInto(project, tarball);
    expect(manifest.dependencies).toHaveProperty('fauxqs');
    for (const file of [manifest.bin!['cdk-agent-fleet-local'], 'dist/lib/local/worker-process.js', 'dist/agent/simulated-task.js']) {
      expect(fs.existsSync(path.join(installed, file))).toBe(true);
    }
    const help = spawnSync(process.execPath, [path.join(installed, manifest.bin!['cdk-agent-fleet-local']), '--help'],
      { cwd: project, env: { ...process.env, NODE_PATH: '' }, encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: cdk-agent-fleet-local/);
  });
});
