// Coded errors shared by every Vigil package: ERR_VIGIL_<AREA>_<WHAT>, with messages that say how to fix.
import { inspect } from 'node:util';

/** An error raised by Vigil at configuration time. `code` is stable and documented. */
export class VigilError extends Error {
  /** Stable error code, `ERR_VIGIL_<AREA>_<WHAT>`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'VigilError';
    this.code = code;
  }
}

/** Describes where an option lives, so messages can point at the right docs. */
export interface OptionContext {
  /** Package name, e.g. `@vigil/metrics`. */
  readonly pkg: string;
  /** Code prefix, e.g. `ERR_VIGIL_METRICS`. */
  readonly codePrefix: string;
  /** Name of the factory the options were given to, e.g. `expressMetrics`. */
  readonly factory: string;
}

/** Renders a value for an error message: short, single-line, never huge. */
export function describeValue(value: unknown): string {
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (value instanceof Error) return oneLine(`${value.name}: ${value.message}`);
  const text = oneLine(
    inspect(value, {
      depth: 1,
      breakLength: Infinity,
      maxArrayLength: 10,
      maxStringLength: 60,
    }),
  );
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

// util.inspect still breaks long arrays into groups of lines; a message must stay on one line.
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** Builds a coded configuration error that names the option, the expectation, the value and the fix. */
export function optionError(
  context: OptionContext,
  what: string,
  option: string,
  expected: string,
  received: unknown,
  fix?: string,
): VigilError {
  const code = `${context.codePrefix}_${what}`;
  const hint = fix ? ` ${fix}` : '';
  return new VigilError(
    code,
    `${context.factory}(): option "${option}" must be ${expected}, received ${describeValue(received)}.${hint} See "Error codes" in the ${context.pkg} README.`,
  );
}

/**
 * True when a factory was handed framework call arguments instead of options, which is what happens
 * after `app.use(factory)` without the call: Express passes (req, res, next), Koa passes (ctx, next).
 */
export function looksLikeFrameworkCall(first: unknown, argCount: number): boolean {
  if (argCount >= 2) return true;
  if (first === null || typeof first !== 'object') return false;
  const candidate = first as Record<string, unknown>;
  // IncomingMessage (Express) or a Koa context both carry these.
  return (
    ('socket' in candidate && 'headers' in candidate) ||
    ('req' in candidate && 'res' in candidate && 'app' in candidate)
  );
}

/** The error thrown when a middleware factory is mounted without being called. */
export function notCalledError(context: OptionContext): VigilError {
  return new VigilError(
    `${context.codePrefix}_NOT_CALLED`,
    `${context.factory} is a factory: mount it as app.use(${context.factory}()) — with the parentheses — not app.use(${context.factory}). See "Error codes" in the ${context.pkg} README.`,
  );
}
