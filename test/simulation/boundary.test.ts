import * as fs from 'fs';
import * as path from 'path';
import { closure } from '../support/import-graph';

const root = path.join(__dirname, '..', '..');

describe('lib/simulation stays pure', () => {
  const dir = path.join(root, 'lib', 'simulation');
  const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  const all = entries.map(closure);
  const packages = new Set(all.flatMap((c) => [...c.packages]));
  const files = new Set(all.flatMap((c) => [...c.files]));

  test('no aws-cdk-lib or constructs anywhere in its import graph', () => {
    expect([...packages].filter((p) => p.startsWith('aws-cdk-lib') || p === 'constructs')).toEqual([]);
    // Of the worker, only its contract and its prefetch rule, which the simulated workers follow.
    const shared = [path.join('worker', 'contract.ts'), path.join('worker', 'prefetch.ts')];
    expect([...files].filter((f) => !f.includes(`${path.sep}lib${path.sep}simulation${path.sep}`) && !f.includes(`${path.sep}lib${path.sep}policy${path.sep}`)
      && !shared.some((s) => f.endsWith(s)))).toEqual([]);
  });

  test('the model has no clock or unseeded randomness (only the CLI may print timings)', () => {
    for (const file of files) {
      if (file.endsWith('cli.ts')) continue;
      const text = fs.readFileSync(file, 'utf8');
      expect({ file, random: /Math\.random\(/.test(text), clock: /Date\.now\(|new Date\(|performance\.now\(/.test(text) }).toEqual({ file, random: false, clock: false });
    }
  });
});
