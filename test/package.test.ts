import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// A fresh CDK app that installs the packed tarball and writes only the README's snippet: it
// must type-check against the shipped .d.ts files, and synthesize, for both computes.
const ROOT = path.join(__dirname, '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');

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

describe('the packed package', () => {
  let dir: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-fleet-pack-'));
    // `npm pack` builds first (the prepare script).
    const [packed] = JSON.parse(execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const installed = path.join(dir, 'node_modules', 'cdk-agent-fleet');
    fs.mkdirSync(installed, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(dir, packed.filename), '-C', installed, '--strip-components=1']);
    fs.writeFileSync(path.join(dir, 'app.ts'), APP);
    // The app's other dependencies (aws-cdk-lib, constructs, the SDK) come from this repository.
    fs.writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        target: 'ES2022', module: 'commonjs', moduleResolution: 'node10', strict: true, skipLibCheck: true, outDir: 'out',
        baseUrl: '.', paths: { 'aws-cdk-lib': [`${NODE_MODULES}/aws-cdk-lib`], 'aws-cdk-lib/*': [`${NODE_MODULES}/aws-cdk-lib/*`], constructs: [`${NODE_MODULES}/constructs`] },
        typeRoots: [`${NODE_MODULES}/@types`], types: ['node'],
      },
      files: ['app.ts'],
    }));
  }, 180_000);

  test('ships compiled JavaScript, declarations and the bundled publisher, not the sources or tests', () => {
    const files = execFileSync('tar', ['-tzf', fs.readdirSync(dir).filter((f) => f.endsWith('.tgz')).map((f) => path.join(dir, f))[0]], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(expect.arrayContaining([
      'package/dist/lib/index.js', 'package/dist/lib/index.d.ts', 'package/dist/lib/worker/index.js',
      'package/dist/lambda/backlog-publisher/index.js',
    ]));
    expect(files.filter((f) => /\.ts$/.test(f) && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => f.includes('/test/'))).toEqual([]);
  });

  test('a fresh app with the README snippet type-checks and synthesizes both computes', () => {
    execFileSync(process.execPath, [path.join(NODE_MODULES, 'typescript', 'bin', 'tsc'), '-p', dir], { stdio: 'pipe' });
    const out = path.join(dir, 'cdk.out');
    const run = spawnSync(process.execPath, [path.join(dir, 'out', 'app.js'), out], {
      cwd: dir, env: { ...process.env, NODE_PATH: NODE_MODULES }, encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    for (const stack of ['Fargate', 'Ec2']) {
      const template = JSON.parse(fs.readFileSync(path.join(out, `${stack}.template.json`), 'utf8'));
      expect(Object.values<{ Type: string }>(template.Resources).filter((r) => r.Type === 'AWS::SQS::Queue')).toHaveLength(2);
    }
  });

  test('cdk-agent-fleet/worker loads without aws-cdk-lib', () => {
    const script = `const w = require('cdk-agent-fleet/worker');
      if (typeof w.AgentWorker !== 'function') throw new Error('no AgentWorker');
      const cdk = Object.keys(require.cache).filter((f) => f.includes('aws-cdk-lib') || f.includes('constructs'));
      process.stdout.write(JSON.stringify(cdk));`;
    const loaded = execFileSync(process.execPath, ['-e', script], { cwd: dir, env: { ...process.env, NODE_PATH: NODE_MODULES }, encoding: 'utf8' });
    expect(JSON.parse(loaded)).toEqual([]);
  });

  test('the local run ships compiled, with the reference agent\'s task, and its bin answers --help', () => {
    const installed = path.join(dir, 'node_modules', 'cdk-agent-fleet');
    const pkg = JSON.parse(fs.readFileSync(path.join(installed, 'package.json'), 'utf8'));
    expect(pkg.dependencies).toHaveProperty('fauxqs');
    for (const file of [pkg.bin['cdk-agent-fleet-local'], 'dist/lib/local/worker-process.js', 'dist/agent/simulated-task.js']) {
      expect(fs.existsSync(path.join(installed, file))).toBe(true);
    }
    const help = execFileSync(process.execPath, [path.join(installed, pkg.bin['cdk-agent-fleet-local']), '--help'], { cwd: dir, env: { ...process.env, NODE_PATH: NODE_MODULES }, encoding: 'utf8' });
    expect(help).toMatch(/^Usage: cdk-agent-fleet-local/);
  });
});
