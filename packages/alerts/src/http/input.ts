// The alerts API's input: parameters from the query and the body (JSON or form, read here with a size
// cap unless a body parser already read it), checked field by field. Parsers return a coded problem
// instead of throwing, so hostile input is answered 400 and never reaches the service.
import type { IncomingMessage } from 'node:http';

/** A reason to answer 400: a stable code and a message for the operator. */
export interface InputProblem {
  readonly status: 400 | 404;
  readonly code: string;
  readonly message: string;
}

/** Flat parameters: names to one string (or a JSON number) each. */
export type Params = ReadonlyMap<string, string | number>;

export const problem = (code: string, message: string): InputProblem => ({
  status: 400,
  code,
  message,
});

const isProblem = (x: unknown): x is InputProblem =>
  typeof x === 'object' && x !== null && 'code' in x && 'status' in x;

// Names a JavaScript object treats specially: refused outright, whatever the route accepts.
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_PARAMS = 16;

/** The query parameters of `url`, each given once. */
export function queryParams(url: string | undefined): Map<string, string | number> | InputProblem {
  const q = url === undefined ? -1 : url.indexOf('?');
  const params = new Map<string, string | number>();
  if (url === undefined || q === -1) return params;
  const search = new URLSearchParams(url.slice(q + 1));
  for (const [name, value] of search) {
    const added = add(params, name, value, 'query');
    if (added !== undefined) return added;
  }
  return params;
}

function add(
  params: Map<string, string | number>,
  name: string,
  value: unknown,
  where: string,
): InputProblem | undefined {
  if (FORBIDDEN_KEYS.has(name)) {
    return problem('forbidden_parameter', `The ${where} parameter "${clip(name)}" is not allowed.`);
  }
  if (params.has(name)) {
    return problem('duplicate_parameter', `The parameter "${clip(name)}" is given more than once.`);
  }
  if (params.size >= MAX_PARAMS) return problem('too_many_parameters', 'Too many parameters.');
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
    params.set(name, value);
    return undefined;
  }
  return problem(
    'invalid_parameter',
    `The parameter "${clip(name)}" must be a string${where === 'body' ? ' or a number' : ''}.`,
  );
}

/** Adds a body's fields to the query's; a field in both is a duplicate. */
export function mergeBody(
  params: Map<string, string | number>,
  body: unknown,
): Map<string, string | number> | InputProblem {
  if (body === undefined || body === null) return params;
  if (typeof body !== 'object' || Array.isArray(body)) {
    return problem('invalid_body', 'The body must be a JSON object or a form.');
  }
  const proto = Object.getPrototypeOf(body) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    return problem('invalid_body', 'The body must be a JSON object or a form.');
  }
  for (const name of Object.keys(body)) {
    const added = add(params, name, (body as Record<string, unknown>)[name], 'body');
    if (added !== undefined) return added;
  }
  return params;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The request's body as an object: the one a body parser left (`parsed`) when the stream was already
 * read, else read here up to `maxBytes` and parsed as JSON or a form.
 */
export async function readBody(
  req: IncomingMessage,
  parsed: unknown,
  maxBytes: number,
): Promise<unknown> {
  const consumed = req.readableEnded || (req as { _body?: unknown })._body === true;
  if (consumed) return parsed;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    req.resume();
    return problem('unsupported_encoding', 'The body must not be compressed.');
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) {
    req.resume();
    return tooLarge(maxBytes);
  }
  const raw = await collect(req, maxBytes);
  if (isProblem(raw)) return raw;
  if (raw.length === 0) return undefined;
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return problem('invalid_encoding', 'The body is not valid UTF-8.');
  }
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return problem('invalid_json', 'The body is not valid JSON.');
    }
  }
  if (type === 'application/x-www-form-urlencoded') {
    const form = new Map<string, string | number>();
    for (const [name, value] of new URLSearchParams(text)) {
      const added = add(form, name, value, 'body');
      if (added !== undefined) return added;
    }
    return Object.fromEntries(form);
  }
  return problem(
    'unsupported_content_type',
    'Send the body as application/json or application/x-www-form-urlencoded, or use query parameters.',
  );
}

function tooLarge(maxBytes: number): InputProblem {
  return problem('body_too_large', `The body is larger than ${maxBytes} bytes.`);
}

function collect(req: IncomingMessage, maxBytes: number): Promise<Buffer | InputProblem> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: Buffer | InputProblem): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(value);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // The rest is read and dropped, so the answer reaches a client still sending.
        req.resume();
        finish(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => finish(Buffer.concat(chunks));
    const onError = (): void => finish(problem('invalid_body', 'The body could not be read.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

export { isProblem };

/** A value shown in a message: short, one line. */
export function clip(value: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const line = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return line.length > 40 ? `${line.slice(0, 37)}...` : line;
}

// Control characters other than tab and newline: nothing an operator types, and log forging material.
// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

// eslint-disable-next-line no-control-regex -- control characters are what is refused
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f]/;

/**
 * A text parameter: a string of 1 to `max` characters without control characters (a `multiline` one
 * may hold tabs and line breaks).
 */
export function textParam(
  params: Params,
  name: string,
  max: number,
  required: boolean,
  multiline = false,
): string | undefined | InputProblem {
  const value = params.get(name);
  if (value === undefined) {
    return required ? problem('missing_parameter', `The parameter "${name}" is required.`) : value;
  }
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    value.length > max ||
    (multiline ? CONTROL : CONTROL_OR_BREAK).test(value)
  ) {
    return problem(
      'invalid_parameter',
      `The parameter "${name}" must be text of 1 to ${max} characters without control characters.`,
    );
  }
  return value.trim();
}

/** Refuses parameters a route does not take. */
export function onlyParams(params: Params, allowed: readonly string[]): InputProblem | undefined {
  for (const name of params.keys()) {
    if (!allowed.includes(name)) {
      return problem(
        'unknown_parameter',
        `The parameter "${clip(name)}" is not one of ${allowed.join(', ') || '(none)'}.`,
      );
    }
  }
  return undefined;
}
