// `vigil doctor`: is the app up and ready, are REDIS_URL, ALERTMANAGER_URL and the OTLP endpoint
// reachable, and which of the binaries the stack runs are missing (with the apt-get command).
import { connect } from 'node:net';
import { BINARIES, aptCommand, findOnPath } from './binaries';

/** One line of the report. */
export interface Finding {
  what: string;
  /** `ok`; `warn` (reachable, worth a look); `fail`; `unset` (not configured); `missing` (a binary). */
  state: 'ok' | 'warn' | 'fail' | 'unset' | 'missing';
  detail: string;
}

/** Where doctor looks. */
export interface DoctorTargets {
  appUrl: string;
  redisUrl?: string;
  alertmanagerUrl?: string;
  otlpEndpoint?: string;
  prometheusUrl?: string;
  timeoutMs: number;
  path?: string;
}

async function httpStatus(
  url: string,
  timeoutMs: number,
  init: RequestInit = {},
): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return { status: res.status, body };
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    return { error: cause?.code ?? cause?.message ?? (e instanceof Error ? e.message : String(e)) };
  }
}

/** PING over RESP (AUTH first when the URL has a password): +PONG, or the error Redis answers. */
export function redisPing(
  url: string,
  timeoutMs: number,
): Promise<{ reply: string } | { error: string }> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve({ error: 'not a URL' });
  }
  if (parsed.protocol === 'rediss:')
    return Promise.resolve({ error: 'TLS (rediss:) is not checked' });
  return new Promise((resolve) => {
    const socket = connect({
      host: parsed.hostname || '127.0.0.1',
      port: Number(parsed.port || 6379),
    });
    let reply = '';
    let replies = 0;
    const auth = parsed.password === '' ? 0 : 1;
    const done = (result: { reply: string } | { error: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ error: `no answer within ${timeoutMs} ms` }), timeoutMs);
    socket.on('connect', () => {
      const user = decodeURIComponent(parsed.username);
      const password = decodeURIComponent(parsed.password);
      const command = (args: string[]) =>
        `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
      if (auth === 1)
        socket.write(command(user === '' ? ['AUTH', password] : ['AUTH', user, password]));
      socket.write(command(['PING']));
    });
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('latin1');
      const lines = reply.split('\r\n');
      while (lines.length > 1) {
        const line = lines.shift() as string;
        replies += 1;
        if (line.startsWith('-')) return done({ reply: line });
        if (replies > auth) return done({ reply: line });
      }
      reply = lines[0] ?? '';
    });
    socket.on('error', (err: NodeJS.ErrnoException) => done({ error: err.code ?? err.message }));
  });
}

/** The findings, in the order printed. */
export async function diagnose(t: DoctorTargets): Promise<Finding[]> {
  const app = t.appUrl.replace(/\/+$/, '');
  const redact = (url: string) => url.replace(/\/\/[^@/]*@/, '//***@');
  const http = async (
    what: string,
    url: string,
    init?: RequestInit,
    okStatus: (status: number) => boolean = (s) => s === 200,
  ): Promise<Finding> => {
    const r = await httpStatus(url, t.timeoutMs, init);
    if ('error' in r) return { what, state: 'fail', detail: `${url}: not reachable (${r.error})` };
    if (okStatus(r.status)) return { what, state: 'ok', detail: `${url}: ${r.status}` };
    if (r.status === 401 || r.status === 403) {
      return { what, state: 'warn', detail: `${url}: ${r.status} (a token protects it)` };
    }
    return {
      what,
      state: 'fail',
      detail: `${url}: ${r.status} ${r.body.slice(0, 200).replace(/\s+/g, ' ')}`,
    };
  };
  const findings: Finding[] = await Promise.all([
    http('app /metrics', `${app}/metrics`),
    http('app /health/ready', `${app}/health/ready`),
    t.redisUrl === undefined
      ? {
          what: 'REDIS_URL',
          state: 'unset' as const,
          detail: "not set: rate limits use each instance's memory",
        }
      : redisPing(t.redisUrl, t.timeoutMs).then((r): Finding => {
          const where = redact(t.redisUrl as string);
          if ('error' in r)
            return {
              what: 'REDIS_URL',
              state: 'fail',
              detail: `${where}: not reachable (${r.error})`,
            };
          if (r.reply === '+PONG')
            return { what: 'REDIS_URL', state: 'ok', detail: `${where}: PONG` };
          return {
            what: 'REDIS_URL',
            state: 'warn',
            detail: `${where}: reachable, answered ${r.reply}`,
          };
        }),
    t.alertmanagerUrl === undefined
      ? {
          what: 'ALERTMANAGER_URL',
          state: 'unset' as const,
          detail: 'not set: alerts are routed in the process',
        }
      : http('ALERTMANAGER_URL', `${t.alertmanagerUrl.replace(/\/+$/, '')}/-/ready`),
    t.otlpEndpoint === undefined
      ? {
          what: 'OTLP endpoint',
          state: 'unset' as const,
          detail: 'OTEL_EXPORTER_OTLP_ENDPOINT not set: traces stay in the process',
        }
      : // An empty export request: a collector answers 200 (or 400 for the encoding), either way it is there.
        http(
          'OTLP endpoint',
          t.otlpEndpoint,
          { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' },
          (s) => s < 500 && s !== 404,
        ),
    ...(t.prometheusUrl === undefined
      ? []
      : [http('Prometheus', `${t.prometheusUrl.replace(/\/+$/, '')}/-/ready`)]),
  ]);
  for (const b of BINARIES) {
    const found = findOnPath(b.binary, t.path ?? process.env.PATH);
    findings.push(
      found === undefined
        ? {
            what: b.binary,
            state: 'missing',
            detail: `not installed (Debian package ${b.debian}), for ${b.for}`,
          }
        : { what: b.binary, state: 'ok', detail: found },
    );
  }
  return findings;
}

/** The lines doctor prints, the apt-get command last when something is missing. */
export function describeFindings(findings: readonly Finding[]): string[] {
  const width = Math.max(...findings.map((f) => f.what.length));
  const lines = findings.map((f) => `${f.state.padEnd(7)}  ${f.what.padEnd(width)}  ${f.detail}`);
  const missing = findings.filter((f) => f.state === 'missing').map((f) => f.what);
  if (missing.length > 0) lines.push(`install what is missing: ${aptCommand(missing)}`);
  return lines;
}
