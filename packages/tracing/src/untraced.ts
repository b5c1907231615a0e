// Work that must not show up as traces: a health check's ping of a dependency runs every probe
// interval, and its outgoing calls would otherwise start a root span each time.
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';

/** Runs `fn` with tracing suppressed: the calls it makes start no span and carry no trace context. */
export function untraced<T>(fn: () => T): T {
  return context.with(suppressTracing(context.active()), fn);
}
