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
  /**
   * How the factory is used, given as the fix when it is called with a framework's arguments
   * (`<codePrefix>_NOT_CALLED`). Without it that message only says to call the factory.
   */
  readonly usage?: FactoryUsage;
}

/**
 * The correct use of a factory, as code that works when pasted: `app` is the Express or Koa app,
 * `router` a `@koa/router` mounted on it; other names (`handler`, `business`) are the app's own.
 */
export interface FactoryUsage {
  /** One or two sentences, each ending with a full stop: what the factory returns and where it goes. */
  readonly what: string;
  /** The code in an Express app; several entries are alternatives. */
  readonly express: string | readonly string[];
  /** The code in a Koa app, when it differs (another factory, a router); default: `express`. */
  readonly koa?: string | readonly string[];
}

/** The framework whose call arguments `first` is: Express's request or Koa's context. */
export type Framework = 'express' | 'koa';

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

/**
 * A coded error that is not about one option (a registry holding another metric under a name, a
 * second start of something that runs once, a rejected event): `code: message fix`, then where the
 * code is documented, its own heading in the package README's "Error codes".
 */
export function codedError(
  context: Pick<OptionContext, 'pkg'>,
  code: string,
  message: string,
  fix?: string,
): VigilError {
  const hint = fix ? ` ${fix}` : '';
  return new VigilError(
    code,
    `${message}${hint} See "${code}" under "Error codes" in the ${context.pkg} README.`,
  );
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
  return argCount >= 2 || frameworkOf(first) !== undefined;
}

/** Which framework `first` comes from: a Koa context, or a Node request (Express's `req`). */
export function frameworkOf(first: unknown): Framework | undefined {
  if (first === null || typeof first !== 'object') return undefined;
  // Koa's context is checked first: it delegates `socket` and `headers` to its request too.
  if ('req' in first && 'res' in first && 'app' in first) return 'koa';
  if ('socket' in first && 'headers' in first) return 'express';
  return undefined;
}

const asList = (code: string | readonly string[]): readonly string[] =>
  typeof code === 'string' ? [code] : code;
const quoted = (codes: readonly string[]): string => codes.map((c) => `\`${c}\``).join(' or ');

/**
 * The fix part of a message: `usage.what`, then `Fix: ` and the code in backticks, for the framework
 * the app runs (both, labelled, when it is not known and they differ).
 */
export function usageFix(factory: string, usage: FactoryUsage, framework?: Framework): string {
  const express = asList(usage.express);
  const koa = asList(usage.koa ?? usage.express);
  const same = express.join('\n') === koa.join('\n');
  let code: string;
  if (framework === 'koa') code = quoted(koa);
  else if (framework === 'express' || same) code = quoted(express);
  else code = `${quoted(express)} (Express), ${quoted(koa)} (Koa)`;
  const chosen = framework === 'koa' ? koa : express;
  // Handed the other framework's factory (expressMetrics in a Koa app): say so before the fix.
  const twin =
    framework !== undefined && !chosen.some((c) => c.includes(`${factory}(`))
      ? `This is a${framework === 'express' ? 'n Express' : ' Koa'} app, and ${factory} is not for it. `
      : '';
  return `${twin}${usage.what} Fix: ${code}.`;
}

/**
 * The error thrown when a factory gets a framework's call arguments instead of its options: it was
 * handed to `app.use()` or a route without being called. `received` (the first argument) tells
 * Express from Koa, so the fix is the one for the app at hand.
 */
export function notCalledError(context: OptionContext, received?: unknown): VigilError {
  const { factory, usage, pkg } = context;
  const framework = frameworkOf(received);
  const given =
    framework === 'koa'
      ? "Koa's (ctx, next)"
      : framework === 'express'
        ? "Express's (req, res, next)"
        : 'framework arguments';
  const fix =
    usage === undefined
      ? `Call ${factory}() yourself with its options, as the ${pkg} README shows, and use what it returns.`
      : usageFix(factory, usage, framework);
  return new VigilError(
    `${context.codePrefix}_NOT_CALLED`,
    `${factory} was called with ${given} instead of its options: it was handed to the app (app.use() or a route) without being called. ${fix} See "Error codes" in the ${pkg} README.`,
  );
}
