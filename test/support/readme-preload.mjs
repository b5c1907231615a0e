// Loaded into every README example the README test runs (node --import): servers listen on a free
// loopback port instead of the one the example names, and each port is appended to the file named by
// VIGIL_README_PORTS, one per line, so the test can send the example a request. Nothing else changes.
import { appendFileSync } from 'node:fs';
import net from 'node:net';

const portsFile = process.env.VIGIL_README_PORTS;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called with the server as `this`
const listen = net.Server.prototype.listen;

net.Server.prototype.listen = function listenOnAFreePort(...args) {
  const callback = typeof args.at(-1) === 'function' ? args.at(-1) : undefined;
  this.once('listening', () => {
    const address = this.address();
    if (portsFile !== undefined && address !== null && typeof address === 'object') {
      appendFileSync(portsFile, `${address.port}\n`);
    }
  });
  return callback === undefined
    ? listen.call(this, 0, '127.0.0.1')
    : listen.call(this, 0, '127.0.0.1', callback);
};
