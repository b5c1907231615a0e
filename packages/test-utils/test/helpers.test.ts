// The shared helpers themselves: a server on an ephemeral port answers the raw client, and a missing
// binary is reported with the Debian package that provides it.
import { afterEach, describe, expect, it } from 'vitest';
import { closeServers, findBinary, rawRequest, startServer } from '@vigil/test-utils';

afterEach(() => closeServers());

describe('@vigil/test-utils', () => {
  it('should serve on an ephemeral loopback port and read the raw response', async () => {
    const { port, origin } = await startServer((req, res) => {
      res.setHeader('x-seen', req.url ?? '');
      res.end('ok');
    });
    expect(port).toBeGreaterThan(0);
    const response = await rawRequest(origin, '/a//b');
    expect(response.status).toBe(200);
    expect(response.headers['x-seen']).toBe('/a//b');
    expect(response.body).toBe('ok');
  });

  it('should find an installed binary, and name the Debian package of a missing one', () => {
    expect(findBinary('sh', 'dash')).toMatch(/\/sh$/);
    if (process.env.CI === 'true') {
      expect(() => findBinary('vigil-no-such-binary', 'vigil-nothing')).toThrow(
        /install the Debian package "vigil-nothing"/,
      );
    } else {
      expect(findBinary('vigil-no-such-binary', 'vigil-nothing')).toBeUndefined();
    }
  });
});
