// Defaults and resolveOptions(): every option of createAuditLogger() checked once into a frozen config.
import {
  type MinimalLogger,
  type OptionContext,
  booleanOption,
  integerOption,
  loggerOption,
  optionError,
  readOptions,
  optionNames,
} from '@vigil/core';
import type { DestinationStream } from 'pino';
import { AUDIT_LIMITS } from './event';
import { type EventCounter, resolveCounter } from './metric';
import { type Redactor, createRedactor } from './redaction';
import type { AuditLoggerOptions } from './types';

/** Default number of events recent() keeps. */
export const DEFAULT_TAIL_SIZE = 100;
/** Default number of distinct `type` label values on audit_events_total. */
export const DEFAULT_MAX_TYPES = 100;

const KNOWN_OPTIONS = optionNames<AuditLoggerOptions>({
  destination: true,
  resume: true,
  redact: true,
  service: true,
  registry: true,
  maxTypes: true,
  tailSize: true,
  signals: true,
  default: true,
  logger: true,
});

export type ResolvedDestination =
  | { readonly kind: 'path'; readonly path: string }
  | { readonly kind: 'fd'; readonly fd: number }
  | { readonly kind: 'stream'; readonly stream: DestinationStream };

export interface ResolvedOptions {
  readonly destination: ResolvedDestination;
  readonly resume: boolean;
  readonly redactor: Redactor;
  readonly service: string | undefined;
  readonly counter: EventCounter | undefined;
  readonly maxTypes: number;
  readonly tailSize: number;
  readonly signals: boolean;
  readonly isDefault: boolean;
  readonly logger: MinimalLogger | undefined;
}

function resolveDestination(ctx: OptionContext, value: unknown): ResolvedDestination {
  if (value === undefined) return { kind: 'fd', fd: 1 };
  if (typeof value === 'string' && value !== '' && !value.includes('\0')) {
    return { kind: 'path', path: value };
  }
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 0x7fffffff) {
    return { kind: 'fd', fd: value };
  }
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { write?: unknown }).write === 'function'
  ) {
    return { kind: 'stream', stream: value as DestinationStream };
  }
  throw optionError(
    ctx,
    'INVALID_OPTION',
    'destination',
    'a file path, a file descriptor, or a stream with write() (pino.destination(), pino.transport())',
    value,
  );
}

export function resolveOptions(
  ctx: OptionContext,
  raw: unknown,
  argCount: number,
): ResolvedOptions {
  const o = readOptions<AuditLoggerOptions>(ctx, raw, argCount, KNOWN_OPTIONS);
  const destination = resolveDestination(ctx, o.destination);
  const resume = booleanOption(ctx, 'resume', o.resume, destination.kind === 'path');
  if (resume && destination.kind !== 'path') {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'resume',
      'false (or absent) unless "destination" is a file path',
      o.resume,
      'Resuming reads the end of the file: give destination as a path.',
    );
  }
  const service = o.service as unknown;
  if (
    service !== undefined &&
    (typeof service !== 'string' ||
      service === '' ||
      Buffer.byteLength(service) > AUDIT_LIMITS.stringBytes)
  ) {
    throw optionError(
      ctx,
      'INVALID_OPTION',
      'service',
      `a non-empty string of at most ${AUDIT_LIMITS.stringBytes} bytes`,
      service,
    );
  }
  const maxTypes = integerOption(ctx, 'maxTypes', o.maxTypes, DEFAULT_MAX_TYPES, 1, 10_000);
  const tailSize = integerOption(ctx, 'tailSize', o.tailSize, DEFAULT_TAIL_SIZE, 0, 100_000);
  const signals = booleanOption(ctx, 'signals', o.signals, true);
  const isDefault = booleanOption(ctx, 'default', o.default, true);
  const logger = loggerOption(ctx, o.logger);
  const redactor = createRedactor(ctx, o.redact);
  // Last: registering the metric is the only side effect of resolving options.
  const counter = resolveCounter(ctx, o.registry);
  return Object.freeze({
    destination,
    resume,
    redactor,
    service,
    counter,
    maxTypes,
    tailSize,
    signals,
    isDefault,
    logger,
  });
}
