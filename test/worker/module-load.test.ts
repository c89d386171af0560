/**
 * Loading the worker runtime does nothing on the network: the EMF library's index starts its
 * environment detection at import, which probes the EC2 instance metadata service, so the worker
 * imports the library's modules instead (`lib/worker/metrics.ts`).
 */
import * as net from 'node:net';

test('loading the worker opens no connection (no instance metadata probe)', async () => {
  const connect = jest.spyOn(net.Socket.prototype, 'connect');
  try {
    jest.isolateModules(() => {
      jest.requireActual('../../lib/worker');
    });
    // The detection's first probe starts within a tick of the import; give it time to show.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(connect).not.toHaveBeenCalled();
  } finally {
    connect.mockRestore();
  }
});
