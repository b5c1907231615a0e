// One HTTP POST of a receiver or of the Alertmanager client: a timeout, a bounded read of the answer,
// and a verdict on whether to try again. Verdicts never carry a URL.

/** How one attempt ended. */
export type Attempt =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** Whether another attempt may succeed: network errors, timeouts, 5xx and 429. */
      readonly retry: boolean;
      /** What went wrong, without URL or secret: `HTTP 500`, `ECONNREFUSED`, `timeout`. */
      readonly reason: string;
      /** A wait the server asked for (Retry-After), in milliseconds. */
      readonly retryAfterMs?: number;
    };

/** Bytes of a response body kept for the log; the rest is discarded unread. */
const MAX_BODY = 512;

/** Reads at most MAX_BODY bytes of the answer, then lets the connection go. */
async function readSome(res: Response): Promise<string> {
  const body = res.body;
  if (body === null) return '';
  const reader = (body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_BODY) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8', 0, Math.min(size, MAX_BODY));
}

function retryAfter(res: Response): number | undefined {
  const header = res.headers.get('retry-after');
  if (header === null) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** The reason of a failed fetch: the error's code (ECONNREFUSED), never its message (it may hold the URL). */
export function networkReason(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError')) {
    return e.name === 'TimeoutError' ? 'timeout' : 'aborted';
  }
  let cause: unknown = e;
  for (let depth = 0; depth < 4 && cause !== null && typeof cause === 'object'; depth++) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code)) return code;
    cause = (cause as { cause?: unknown }).cause;
  }
  return 'network error';
}

/**
 * POSTs `body` as JSON. 2xx is success; 429 and 5xx may be tried again, other statuses not; network
 * errors and timeouts may be tried again. `accept` can judge the answer further (Slack answers 200
 * with an error text on some failures).
 */
export async function postJson(
  url: string,
  body: string,
  signal: AbortSignal,
  headers: Readonly<Record<string, string>> = {},
): Promise<Attempt> {
  let target = url;
  let auth: Record<string, string> = {};
  if (url.includes('@')) {
    // fetch() refuses URLs with credentials; Go's client, Alertmanager's, sends them as Basic auth.
    const u = new URL(url);
    if (u.username !== '' || u.password !== '') {
      const user = decodeURIComponent(u.username);
      const pass = decodeURIComponent(u.password);
      auth = { authorization: `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}` };
      u.username = '';
      u.password = '';
      target = u.toString();
    }
  }
  let res: Response;
  try {
    res = await fetch(target, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'vigil-alerts',
        ...auth,
        ...headers,
      },
      body,
      signal,
      redirect: 'error',
    });
  } catch (e) {
    const reason = networkReason(e);
    return { ok: false, retry: reason !== 'aborted', reason };
  }
  let text = '';
  try {
    text = await readSome(res);
  } catch {
    // The answer broke off after its status: the status decides.
  }
  if (res.status >= 200 && res.status < 300) return { ok: true };
  const retry = res.status === 429 || res.status >= 500;
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
  const after = retryAfter(res);
  return {
    ok: false,
    retry,
    reason: `HTTP ${res.status}${snippet === '' ? '' : `: ${snippet}`}`,
    ...(after === undefined ? {} : { retryAfterMs: after }),
  };
}

/** `text` with every occurrence of each secret replaced by `[REDACTED]`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[REDACTED]');
  return out;
}
