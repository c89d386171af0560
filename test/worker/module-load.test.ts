/**
 * Loading the worker runtime does nothing on the network: the EMF library's index starts its
 * environment detection at import, which probes the EC2 instance metadata service, so the worker
 * imports the library's modules instead (`lib/worker/metrics.ts`).
 */
import * as net from 'node:net';

/** Where a `Socket.connect` call goes: the host, or the pipe's path. */
function destination(args: unknown[]): string {
  const [first, second] = args;
  // net.createConnection (which http's agent calls) passes its arguments normalized, as one array.
  if (Array.isArray(first)) return destination(first);
  if (typeof first === 'object' && first !== null) {
    const options = first as { host?: string; path?: string };
    return options.path ?? options.host ?? 'localhost';
  }
  return typeof second === 'string' ? second : 'localhost';
}

test('loading the worker connects nowhere off this machine (no instance metadata probe)', async () => {
  const connect = jest.spyOn(net.Socket.prototype, 'connect');
  try {
    jest.isolateModules(() => {
      jest.requireActual('../../lib/worker');
    });
    // The detection's first probe starts within a tick of the import; give it time to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Loopback and pipes are left out: a worker process may still talk to a local server.
    const offMachine = connect.mock.calls.map(destination).filter((to) => !/^(127\.|::1$|localhost$|\/)/.test(to));
    expect(offMachine).toEqual([]);
  } finally {
    connect.mockRestore();
  }
});
