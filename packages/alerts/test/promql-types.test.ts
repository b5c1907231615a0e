// The public types of the PromQL checker, checked by the compiler (npm run typecheck) and run as tests.
import { describe, expectTypeOf, it } from 'vitest';
import {
  type CheckPromQLOptions,
  type PromQLCheckResult,
  type PromQLFeature,
  type PromQLType,
  checkPromQL,
  DEFAULT_PROMETHEUS_VERSION,
  MAX_PROMQL_DEPTH,
  MAX_PROMQL_LENGTH,
  PROMQL_FEATURES,
} from '@vigil/alerts';

describe('@vigil/alerts PromQL checker public types', () => {
  it('should type checkPromQL and its result', () => {
    expectTypeOf(checkPromQL).parameter(0).toEqualTypeOf<string>();
    expectTypeOf(checkPromQL).parameter(1).toEqualTypeOf<CheckPromQLOptions | undefined>();
    expectTypeOf(checkPromQL).returns.toEqualTypeOf<PromQLCheckResult>();
    expectTypeOf<PromQLCheckResult['type']>().toEqualTypeOf<PromQLType>();
    expectTypeOf<PromQLType>().toEqualTypeOf<'vector' | 'scalar' | 'matrix' | 'string'>();
    expectTypeOf(PROMQL_FEATURES).toEqualTypeOf<readonly PromQLFeature[]>();
    expectTypeOf(DEFAULT_PROMETHEUS_VERSION).toEqualTypeOf<string>();
    expectTypeOf(MAX_PROMQL_LENGTH).toEqualTypeOf<number>();
    expectTypeOf(MAX_PROMQL_DEPTH).toEqualTypeOf<number>();
  });

  it('should accept the documented options and refuse wrong ones', () => {
    expectTypeOf({ prometheusVersion: '2.42' }).toMatchTypeOf<CheckPromQLOptions>();
    expectTypeOf({
      prometheusVersion: '3.5',
      features: ['promql-experimental-functions', 'promql-duration-expr'] as const,
    }).toMatchTypeOf<CheckPromQLOptions>();
    // @ts-expect-error -- the version is a string such as "2.42"
    expectTypeOf({ prometheusVersion: 2.42 }).toMatchTypeOf<CheckPromQLOptions>();
    // @ts-expect-error -- only known feature flags
    expectTypeOf({ features: ['promql-typo'] as const }).toMatchTypeOf<CheckPromQLOptions>();
  });

  it('should narrow on the returned type', () => {
    const { type } = checkPromQL('rate(http_requests_total[5m])');
    if (type === 'vector') expectTypeOf(type).toEqualTypeOf<'vector'>();
  });
});
