// The sampler: sampler / OTEL_TRACES_SAMPLER and its ratio, wrapped so untrusted callers cannot force
// a sampling decision.
import {
  type Attributes,
  type Context,
  type Link,
  type SpanKind,
  isSpanContextValid,
  trace,
} from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  ParentBasedSampler,
  type Sampler,
  type SamplingResult,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-node';
import { type OptionContext, optionError } from '@vigil/core';
import { envValue } from './env';
import { UNTRUSTED_PARENT } from './server';

/** Sampler names as OTEL_TRACES_SAMPLER spells them. */
export type SamplerName =
  | 'always_on'
  | 'always_off'
  | 'traceidratio'
  | 'parentbased_always_on'
  | 'parentbased_always_off'
  | 'parentbased_traceidratio';

const SAMPLERS =
  /^(always_on|always_off|traceidratio|parentbased_always_on|parentbased_always_off|parentbased_traceidratio)$/;

/**
 * Follows the configured sampler, except for a span whose remote parent came from an untrusted caller
 * (see the middleware's inboundPolicy): its sampled flag is not obeyed, the root sampler decides, so
 * outside callers cannot force every request to be recorded.
 */
export class EdgeAwareSampler implements Sampler {
  constructor(
    private readonly configured: Sampler,
    private readonly root: Sampler,
  ) {}

  shouldSample(
    ctx: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    if (
      ctx.getValue(UNTRUSTED_PARENT) === true &&
      parent?.isRemote === true &&
      isSpanContextValid(parent)
    ) {
      return this.root.shouldSample(ctx, traceId, name, kind, attributes, links);
    }
    return this.configured.shouldSample(ctx, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `EdgeAwareSampler{${this.configured.toString()}}`;
  }
}

/** The checked sampler name and ratio. */
export interface SamplerChoice {
  readonly name: SamplerName;
  readonly ratio: number;
}

/**
 * `sampler` / `samplerRatio`, else OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG, else
 * parentbased_always_on and 1. The ratio variable is checked whichever sampler is chosen.
 */
export function resolveSampler(
  ctx: OptionContext,
  sampler: unknown,
  samplerRatio: unknown,
  env: NodeJS.ProcessEnv,
): SamplerChoice {
  const fromEnv = envValue('OTEL_TRACES_SAMPLER', env);
  const nameRaw: unknown = sampler ?? fromEnv ?? 'parentbased_always_on';
  if (typeof nameRaw !== 'string' || !SAMPLERS.test(nameRaw)) {
    throw optionError(
      ctx,
      'INVALID_SAMPLER',
      sampler === undefined && fromEnv !== undefined ? 'OTEL_TRACES_SAMPLER' : 'sampler',
      'one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio',
      nameRaw,
    );
  }
  const argRaw = envValue('OTEL_TRACES_SAMPLER_ARG', env);
  const ratio: unknown = samplerRatio ?? (argRaw !== undefined ? Number(argRaw) : 1);
  if (typeof ratio !== 'number' || !Number.isFinite(ratio) || ratio < 0 || ratio > 1) {
    throw optionError(
      ctx,
      'INVALID_SAMPLER',
      samplerRatio === undefined ? 'OTEL_TRACES_SAMPLER_ARG' : 'samplerRatio',
      'a number from 0 to 1',
      samplerRatio ?? argRaw,
    );
  }
  return { name: nameRaw as SamplerName, ratio };
}

/** The configured sampler wrapped in an EdgeAwareSampler with its root. */
export function buildSampler({ name, ratio }: SamplerChoice): EdgeAwareSampler {
  const ratioSampler = new TraceIdRatioBasedSampler(ratio);
  switch (name) {
    case 'always_on':
      return new EdgeAwareSampler(new AlwaysOnSampler(), new AlwaysOnSampler());
    case 'always_off':
      return new EdgeAwareSampler(new AlwaysOffSampler(), new AlwaysOffSampler());
    case 'traceidratio':
      return new EdgeAwareSampler(ratioSampler, ratioSampler);
    case 'parentbased_always_off':
      return new EdgeAwareSampler(
        new ParentBasedSampler({ root: new AlwaysOffSampler() }),
        new AlwaysOffSampler(),
      );
    case 'parentbased_traceidratio':
      return new EdgeAwareSampler(new ParentBasedSampler({ root: ratioSampler }), ratioSampler);
    default:
      return new EdgeAwareSampler(
        new ParentBasedSampler({ root: new AlwaysOnSampler() }),
        new AlwaysOnSampler(),
      );
  }
}
