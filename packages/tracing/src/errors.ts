// Error codes of @vigil/tracing and the option context used to build their messages.
import type { FactoryUsage, OptionContext } from '@vigil/core';

/** Every code this package throws, each documented in the README. */
export const TRACING_ERROR_CODES = {
  NOT_CALLED: 'ERR_VIGIL_TRACING_NOT_CALLED',
  INVALID_OPTIONS: 'ERR_VIGIL_TRACING_INVALID_OPTIONS',
  UNKNOWN_OPTION: 'ERR_VIGIL_TRACING_UNKNOWN_OPTION',
  INVALID_OPTION: 'ERR_VIGIL_TRACING_INVALID_OPTION',
  INVALID_CIDR: 'ERR_VIGIL_TRACING_INVALID_CIDR',
  INVALID_SAMPLER: 'ERR_VIGIL_TRACING_INVALID_SAMPLER',
  ALREADY_STARTED: 'ERR_VIGIL_TRACING_ALREADY_STARTED',
  UNSUPPORTED_PROTOCOL: 'ERR_VIGIL_TRACING_UNSUPPORTED_PROTOCOL',
  METRIC_CONFLICT: 'ERR_VIGIL_TRACING_METRIC_CONFLICT',
} as const;

const FIRST =
  'It returns the middleware: mount the result first, before your routes and the metrics middleware.';

/** How each factory is used: the fix of its NOT_CALLED error (README, "Error codes"). */
const USAGE: Readonly<Record<string, FactoryUsage>> = {
  expressTracing: {
    what: FIRST,
    express: 'app.use(expressTracing())',
    koa: 'app.use(koaTracing())',
  },
  koaTracing: { what: FIRST, express: 'app.use(expressTracing())', koa: 'app.use(koaTracing())' },
  expressTracingErrors: {
    what: 'It returns an error middleware: mount the result after your routes and before your own error handler. Koa apps need none: koaTracing() records errors itself.',
    express: 'app.use(expressTracingErrors())',
    koa: 'app.use(koaTracing())',
  },
  startTracing: {
    what: 'It is not middleware: call it once at startup, before the framework is loaded (or start the process with node --require @vigil/tracing/register).',
    express: 'const tracing = startTracing()',
  },
  TraceBuffer: {
    what: 'It is a span processor, not middleware: startTracing() keeps one (tracing.traces); create another only for a tracer provider of your own.',
    express: 'const traces = new TraceBuffer()',
  },
};

export function context(factory: string): OptionContext {
  return { pkg: '@vigil/tracing', codePrefix: 'ERR_VIGIL_TRACING', factory, usage: USAGE[factory] };
}
