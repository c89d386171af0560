// Starts a real SQS-compatible server (fauxqs) on loopback and prints `{"port":N}` on stdout.
// It runs in its own process because fauxqs is ESM-only and jest loads CommonJS.
// It stops when its parent closes stdin or sends SIGTERM.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const dist = dirname(fileURLToPath(import.meta.resolve('fauxqs')));
const load = (file) => import(pathToFileURL(join(dist, file)).href);
const { buildApp } = await load('app.js');
const { SqsStore } = await load('sqs/sqsStore.js');
const { SnsStore } = await load('sns/snsStore.js');
const { S3Store } = await load('s3/s3Store.js');

// An empty host makes queue URLs carry the address the client used (127.0.0.1:<port>), so the
// SDK's standard AWS_ENDPOINT_URL_SQS works and no `*.localhost` name has to resolve.
const sqsStore = new SqsStore();
sqsStore.host = '';
const app = buildApp({ logger: false, stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } });

// Counts API calls by action, for benchmarks (GET /_calls, POST /_calls/reset).
const calls = {};
app.addHook('onRequest', async (req) => {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    const action = target.split('.').pop();
    calls[action] = (calls[action] ?? 0) + 1;
  }
});
app.get('/_calls', async () => calls);
app.post('/_calls/reset', async () => {
  for (const key of Object.keys(calls)) delete calls[key];
  return {};
});

const host = '127.0.0.1';
await app.listen({ port: Number(process.env.FAUXQS_PORT ?? 0), host });
process.stdout.write(`${JSON.stringify({ port: app.server.address().port })}\n`);

const stop = async () => {
  sqsStore.shutdown?.();
  await app.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
