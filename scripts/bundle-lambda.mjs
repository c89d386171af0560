// Bundles each Lambda handler in lambda/<name>/index.ts into dist/lambda/<name>/index.js with
// esbuild, leaving out @aws-sdk/* (the Node.js Lambda runtime provides SDK v3). Runs on
// `npx cdk synth` (cdk.json), before the tests (jest globalSetup) and in `npm run build` (so before
// `npm pack`), so synth only stages the bundle and needs no Docker.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const lambdaDir = join(root, 'lambda');
const names = existsSync(lambdaDir)
  ? readdirSync(lambdaDir).filter((n) => existsSync(join(lambdaDir, n, 'index.ts')))
  : [];

for (const name of names) {
  await build({
    entryPoints: [join(lambdaDir, name, 'index.ts')],
    outfile: join(root, 'dist', 'lambda', name, 'index.js'),
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    external: ['@aws-sdk/*'],
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
  });
}
console.error(`bundled ${names.length} Lambda handler(s)`);
