// Raw request targets, keep-alive agents, source addresses and a bounded pool, for the limiter's
// suites; requests and servers themselves are @vigil/test-utils' rawRequest() and startServer().
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { RawResponse } from '@vigil/test-utils';

/** What rawTarget() read back. */
export interface RawReply {
  status: number;
  body: string;
}

/**
 * One request written byte for byte on its own connection, for request targets that an HTTP client
 * would normalise or refuse (`//`, `..`, `\`, `#`, absolute form): `target` goes on the request line
 * as given (latin1). The body of a `Content-Length` response is returned as text.
 */
export function rawTarget(
  origin: string,
  target: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  const { host, hostname, port } = new URL(origin);
  const lines = [
    `${options.method ?? 'GET'} ${target} HTTP/1.1`,
    `Host: ${host}`,
    'Content-Length: 0',
    'Connection: close',
    ...Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}`),
  ];
  return new Promise<RawReply>((resolve, reject) => {
    const socket = connect(Number(port), hostname.replace(/^\[|\]$/g, ''));
    const parts: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => parts.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const text = Buffer.concat(parts).toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (status === null) {
        reject(new Error(`no HTTP response to ${JSON.stringify(target)}: ${JSON.stringify(text)}`));
        return;
      }
      const split = text.indexOf('\r\n\r\n');
      resolve({ status: Number(status[1]), body: split === -1 ? '' : text.slice(split + 4) });
    });
    socket.write(Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'));
  });
}

/** A keep-alive agent holding at most `sockets` connections. */
export function keepAliveAgent(sockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets });
}

/** A header as one string (repeated headers joined as Node joins them), or undefined. */
export function header(reply: RawResponse, name: string): string | undefined {
  const value = reply.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** An IPv4 address of this machine that is not loopback, to act as a direct (unproxied) client. */
export function nonLoopbackIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const info of list ?? []) {
      if (info.family === 'IPv4' && !info.internal) return info.address;
    }
  }
  return undefined;
}

/** Runs `task` for every item with at most `concurrency` in flight; results keep the input order. */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}
