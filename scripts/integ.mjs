#!/usr/bin/env node
// Integration tests: test/integ/integ.*.ts, each a CDK app with an IntegTest
// (@aws-cdk/integ-tests-alpha) whose assertions run as part of a deployment.
//
//   npm run integ                      verify the committed snapshots, offline (no AWS, no Docker)
//   npm run integ -- --update          re-synthesize and rewrite the snapshots (review the diff)
//   npm run integ -- --deploy [name]   with AWS credentials: deploy each test (its assertions run
//                                      in the DeployAssert stack), then destroy it
//
// Snapshots follow integ-runner's layout (`integ.<name>.ts.snapshot/`), keeping the templates and
// integ.json. integ-runner itself (2.197.10, the latest) cannot read the cloud assembly that our
// aws-cdk-lib writes (schema 55; it reads up to 53), so this script does its two jobs: the offline
// snapshot check, with asset hashes masked as integ-runner does by default, and deploy-assert-destroy
// through the project's CDK CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const integDir = join(root, 'test', 'integ');
const args = process.argv.slice(2);
const update = args.includes('--update');
const deploy = args.includes('--deploy');
const only = args.filter((a) => !a.startsWith('--'));
const tests = readdirSync(integDir)
  .filter((f) => /^integ\..+\.ts$/.test(f))
  .filter((f) => only.length === 0 || only.some((name) => f.includes(name)));

/** What a snapshot keeps: the templates and the integ manifest (the assets are re-staged at deploy). */
const kept = (file) => file.endsWith('.template.json') || file === 'integ.json';
/**
 * Asset hashes change with any byte of an asset, and each assertion carries a `salt` (the synth
 * time, so it runs on every deploy): templates are compared without them.
 */
const masked = (text) => JSON.stringify(JSON.parse(text), null, 1)
  .replace(/[0-9a-f]{64}/g, '[HASH]')
  .replace(/"salt": "\d+"/g, '"salt": "[SALT]"');

function run(command, argv, env = {}) {
  const result = spawnSync(command, argv, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (result.status !== 0) throw new Error(`${command} ${argv.join(' ')} failed:\n${result.stderr || result.stdout}`);
  return result;
}

/** Synthesizes one test app into a fresh directory (synth stages assets; it builds nothing). */
function synth(test) {
  const out = mkdtempSync(join(tmpdir(), 'agent-fleet-integ-'));
  run(process.execPath, ['--import', 'tsx', join(integDir, test)], { CDK_OUTDIR: out });
  return out;
}

/** Differences between a fresh synth and the snapshot, as lines. */
function differences(out, snapshot) {
  if (!existsSync(snapshot)) return ['no snapshot (run with --update)'];
  const fresh = readdirSync(out).filter(kept).sort();
  const stored = readdirSync(snapshot).filter(kept).sort();
  const lines = [
    ...fresh.filter((f) => !stored.includes(f)).map((f) => `+ ${f}`),
    ...stored.filter((f) => !fresh.includes(f)).map((f) => `- ${f}`),
  ];
  for (const file of fresh.filter((f) => stored.includes(f))) {
    const a = JSON.parse(masked(readFileSync(join(snapshot, file), 'utf8')));
    const b = JSON.parse(masked(readFileSync(join(out, file), 'utf8')));
    for (const section of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const ids = new Set([...Object.keys(a[section] ?? {}), ...Object.keys(b[section] ?? {})]);
      for (const id of typeof a[section] === 'object' && typeof b[section] === 'object' ? ids : [undefined]) {
        const before = JSON.stringify(id === undefined ? a[section] : a[section]?.[id]);
        const after = JSON.stringify(id === undefined ? b[section] : b[section]?.[id]);
        if (before !== after) lines.push(`~ ${file} ${section}${id === undefined ? '' : `.${id}`}`);
      }
    }
  }
  return lines;
}

function writeSnapshot(out, snapshot) {
  rmSync(snapshot, { recursive: true, force: true });
  mkdirSync(snapshot, { recursive: true });
  for (const file of readdirSync(out).filter(kept)) {
    writeFileSync(join(snapshot, file), `${JSON.stringify(JSON.parse(readFileSync(join(out, file), 'utf8')), null, 1)}\n`);
  }
}

/** Deploys every stack of the test (the assertions run in its DeployAssert stack), then destroys them. */
function deployAndDestroy(out) {
  const cdk = ['cdk', '--app', out, '--no-notices'];
  try {
    run('npx', [...cdk, 'deploy', '--all', '--require-approval', 'never']);
  } finally {
    run('npx', [...cdk, 'destroy', '--all', '--force']);
  }
}

let failed = 0;
const started = Date.now();
for (const test of tests) {
  const t0 = Date.now();
  const snapshot = join(integDir, `${test}.snapshot`);
  const out = synth(test);
  try {
    const diff = differences(out, snapshot);
    if (update && diff.length > 0) writeSnapshot(out, snapshot);
    const status = diff.length === 0 ? 'UNCHANGED' : update ? 'UPDATED' : 'CHANGED';
    console.log(`  ${status.padEnd(10)} ${test} ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    for (const line of diff) console.log(`      ${line}`);
    if (status === 'CHANGED') failed++;
    else if (deploy) {
      deployAndDestroy(out);
      console.log(`  DEPLOYED   ${test} (assertions passed, destroyed) ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    }
  } catch (error) {
    failed++;
    console.log(`  FAILED     ${test}\n${error.message}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
console.log(`\n${tests.length - failed} of ${tests.length} integration tests passed in ${((Date.now() - started) / 1000).toFixed(1)}s`);
if (tests.length === 0 || failed > 0) process.exitCode = 1;
