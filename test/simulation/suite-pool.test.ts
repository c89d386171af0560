import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

// Under tsx, as `npm run simulate` runs the pool: its children inherit tsx's loader.
function runUnderTsx(script: string): { status: number | null; stdout: string; stderr: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pool-'));
  const file = path.join(dir, 'script.ts');
  fs.writeFileSync(file, script);
  try {
    return spawnSync(tsx, [file], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('runSuiteInParallel', () => {
  test('a cell that fails in a child process rejects the run with the cell and the reason, and no child is left behind', () => {
    const pool = JSON.stringify(path.join(root, 'lib', 'simulation', 'suite-pool'));
    const { status, stdout, stderr } = runUnderTsx(`
      import { runSuiteInParallel } from ${pool};
      const selection = { shapes: ['steady', 'batch'], scales: ['small'], sources: ['publisher'], computes: ['fargate'], seed: 1.5 } as const;
      runSuiteInParallel(selection, 2).then(
        () => console.log('resolved'),
        (err: Error) => console.log('rejected: ' + err.message),
      );
    `);
    expect(stderr).toBe('');
    expect(stdout).toMatch(/^rejected: cell (steady|batch) small publisher fargate: invalid simulation config:\n\s+seed must be an integer 0-4294967295, got 1.5/);
    // spawnSync returns once the script's process exits: a child still running would hold it (timeout, status null).
    expect(status).toBe(0);
  });
});
