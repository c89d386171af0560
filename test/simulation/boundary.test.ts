import * as fs from 'fs';
import * as path from 'path';

const root = path.join(__dirname, '..', '..');

/** Every module specifier a file imports (static and dynamic). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) out.push(m[1]);
  return out;
}

/** The files and packages reachable from `entry` through relative imports. */
function closure(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of importsOf(file)) {
      if (!spec.startsWith('.')) {
        packages.add(spec);
        continue;
      }
      const base = path.resolve(path.dirname(file), spec);
      const target = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
      if (!target) throw new Error(`${file}: cannot resolve ${spec}`);
      visit(target);
    }
  };
  visit(entry);
  return { files, packages };
}

describe('lib/simulation stays pure', () => {
  const dir = path.join(root, 'lib', 'simulation');
  const entries = fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).map((f) => path.join(dir, f));
  const all = entries.map(closure);
  const packages = new Set(all.flatMap((c) => [...c.packages]));
  const files = new Set(all.flatMap((c) => [...c.files]));

  test('no aws-cdk-lib or constructs anywhere in its import graph', () => {
    expect([...packages].filter((p) => p.startsWith('aws-cdk-lib') || p === 'constructs')).toEqual([]);
    expect([...files].filter((f) => !f.includes(`${path.sep}lib${path.sep}simulation${path.sep}`) && !f.includes(`${path.sep}lib${path.sep}policy${path.sep}`) && !f.endsWith(path.join('worker', 'contract.ts')))).toEqual([]);
  });

  test('the model has no clock or unseeded randomness (only the CLI may print timings)', () => {
    for (const file of files) {
      if (file.endsWith('cli.ts')) continue;
      const text = fs.readFileSync(file, 'utf8');
      expect({ file, random: /Math\.random\(/.test(text), clock: /Date\.now\(|new Date\(|performance\.now\(/.test(text) }).toEqual({ file, random: false, clock: false });
    }
  });
});
