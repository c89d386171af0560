/**
 * The README's TypeScript examples, run verbatim: every ```ts block is transpiled and executed in
 * a fresh stack, then synthesized with the app's validation, so an example can never drift from
 * the library. A block's `import`s are honoured; a block without imports sees every export of the
 * library and the usual aws-cdk-lib modules (any other installed package may be imported too). Free variables a snippet leaves to the reader
 * (`stack`, `vpc`, `repository`, ...) come from `GIVEN` below, created only when a block uses them
 * and does not declare them itself: add a name there when a new example needs one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as cdk from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as ts from 'typescript';
import * as library from '../lib';
import * as worker from '../lib/worker';
import { synthTemplate, testStack } from './support/cdk';

const README = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

/** Every ```ts block of a Markdown text, with the line it starts on. */
function typescriptBlocks(markdown: string): { line: number; code: string }[] {
  const blocks: { line: number; code: string }[] = [];
  const fence = /^```(ts|typescript)\s*\n([^]*?)^```\s*$/gm;
  for (let m = fence.exec(markdown); m; m = fence.exec(markdown)) {
    blocks.push({ line: markdown.slice(0, m.index).split('\n').length, code: m[2] });
  }
  return blocks;
}

/** The worker runtime, whose `start()` only checks the options: an example must not poll a queue. */
class CheckedWorker extends worker.AgentWorker {
  constructor(options: worker.AgentWorkerOptions) {
    super({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/example', handleSignals: false, ...options });
  }

  public async start(): Promise<void> {
    await this.stop();
  }
}

/** Modules a block may import, by specifier. */
const MODULES: Record<string, Record<string, unknown>> = {
  'cdk-agent-fleet': library as unknown as Record<string, unknown>,
  'cdk-agent-fleet/worker': { ...worker, AgentWorker: CheckedWorker },
  'aws-cdk-lib': cdk as unknown as Record<string, unknown>,
  'aws-cdk-lib/aws-cloudwatch': cloudwatch, 'aws-cdk-lib/aws-ec2': ec2, 'aws-cdk-lib/aws-ecr': ecr, 'aws-cdk-lib/aws-ecs': ecs, 'aws-cdk-lib/aws-iam': iam,
  'aws-cdk-lib/aws-lambda': lambda, 'aws-cdk-lib/aws-logs': logs, 'aws-cdk-lib/aws-sns': sns, 'aws-cdk-lib/aws-sqs': sqs,
};

/** What a block without imports sees. */
const DEFAULT_SCOPE: Record<string, unknown> = {
  ...library, Duration: cdk.Duration, RemovalPolicy: cdk.RemovalPolicy, Stack: cdk.Stack,
  cloudwatch, ec2, ecr, ecs, iam, lambda, logs, sns, sqs,
};

/** Things an example leaves to the reader, made in the block's stack when it uses them. */
const GIVEN: Record<string, (stack: cdk.Stack) => unknown> = {
  stack: (stack) => stack,
  app: (stack) => stack.node.root,
  vpc: (stack) => new ec2.Vpc(stack, 'GivenVpc', { maxAzs: 2 }),
  repository: (stack) => new ecr.Repository(stack, 'GivenRepository'),
  image: (stack) => library.AgentImage.fromEcrRepository(new ecr.Repository(stack, 'GivenImageRepository'), 'v1'),
  alarmTopic: (stack) => new sns.Topic(stack, 'GivenAlarmTopic', { enforceSSL: true }),
  producerFunction: (stack) => new lambda.Function(stack, 'GivenProducer', {
    runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => undefined;'),
  }),
};

/** Binds a block's imports (or the default scope), and removes the import lines. */
function bindImports(code: string): { body: string; scope: Record<string, unknown> } {
  const scope: Record<string, unknown> = {};
  const importLine = /^import\s+(type\s+)?(.+?)\s+from\s+'([^']+)';?\s*$/gm;
  let imported = false;
  const body = code.replace(importLine, (_line, _type, clause: string, specifier: string) => {
    imported = true;
    // Any other installed package is imported as it is (a README example may show cdk-nag, say).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const mod = MODULES[specifier] ?? (require(specifier) as Record<string, unknown>);
    const namespace = /^\*\s+as\s+(\w+)$/.exec(clause);
    if (namespace) {
      scope[namespace[1]] = mod;
    } else {
      for (const part of clause.replace(/[{}]/g, '').split(',').map((p) => p.trim()).filter(Boolean)) {
        const [name, alias] = part.replace(/^type\s+/, '').split(/\s+as\s+/);
        scope[alias ?? name] = mod[name];
      }
    }
    return '';
  });
  return { body, scope: imported ? scope : { ...DEFAULT_SCOPE } };
}

/** Runs a block in a fresh stack; returns the stack. */
async function runBlock(code: string): Promise<cdk.Stack> {
  const stack = testStack('ReadmeStack');
  const { body, scope } = bindImports(code);
  for (const [name, make] of Object.entries(GIVEN)) {
    const declared = new RegExp(`\\b(const|let|var|class|function)\\s+${name}\\b`).test(body);
    if (!declared && !(name in scope) && new RegExp(`\\b${name}\\b`).test(body)) scope[name] = make(stack);
  }
  const js = ts.transpileModule(body, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.None } }).outputText;
  // The README's own examples, run as written.
  const run = new Function(...Object.keys(scope), `return (async () => {\n${js}\n})();`) as (...args: unknown[]) => Promise<void>;
  await run(...Object.values(scope));
  return stack;
}

describe('README examples', () => {
  const blocks = typescriptBlocks(README);

  test('the README has TypeScript examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  test.each(blocks.map((b) => [b.line, b.code] as const))('the example at README.md line %i runs and synthesizes', async (_line, code) => {
    const stack = await runBlock(code);
    if (stack.node.findAll().length > 1) synthTemplate(stack);
  });
});
