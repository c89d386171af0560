import * as fs from 'fs';
import * as path from 'path';
import { closure } from '../support/import-graph';

describe('lib/local loads no CDK', () => {
  const dir = path.join(__dirname, '..', '..', 'lib', 'local');
  const all = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => closure(path.join(dir, f)));
  const packages = new Set(all.flatMap((c) => [...c.packages]));

  test('no aws-cdk-lib or constructs anywhere in its import graph', () => {
    expect([...packages].filter((p) => p.startsWith('aws-cdk-lib') || p === 'constructs')).toEqual([]);
  });
});
