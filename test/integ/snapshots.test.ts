import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

// The integration tests' committed templates (`npm run integ -- --update` rewrites them) must be
// what the constructs synthesize today, or a deploy of them (`npm run integ -- --deploy`) would
// test something else. The check is offline: it synthesizes each app and compares, hashes masked.
test('the integration tests\' snapshots match what their apps synthesize', () => {
  const run = spawnSync(process.execPath, [join(__dirname, '..', '..', 'scripts', 'integ.mjs')], { encoding: 'utf8', timeout: 240_000 });
  expect(run.stdout).toMatch(/(\d+) of \1 integration tests passed/);
  expect(run.status).toBe(0);
}, 300_000);
