// Decorators compiled by tsc in both modes (standard and experimentalDecorators), then run with node:
// sync and async methods, throws and rejections, static methods, and errors when the class is defined.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BUSINESS_METRICS_ERROR_CODES as C,
  Counted,
  defineBusinessMetrics,
} from '@vigil/business-metrics';
import { FIXTURES, buildPackage, tsc } from './support/tsc';

interface JsonMetric {
  name: string;
  values: { labels: Record<string, string | number>; value: number; metricName?: string }[];
}

interface FixtureOutput {
  seen: Record<string, unknown>;
  errors: Record<string, string | undefined>;
  metrics: JsonMetric[];
}

function value(out: FixtureOutput, sample: string, labels: Record<string, string> = {}): number {
  const metric = out.metrics.find((m) => sample.startsWith(m.name));
  const found = (metric?.values ?? []).filter(
    (v) =>
      (v.metricName ?? metric!.name) === sample &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return found.reduce((n, v) => n + v.value, 0);
}

beforeAll(() => {
  buildPackage();
}, 120_000);

describe.each([
  { mode: 'standard', dir: 'decorators-standard', helper: '__esDecorate' },
  { mode: 'legacy (experimentalDecorators)', dir: 'decorators-legacy', helper: '__decorate(' },
])('decorators compiled by tsc, $mode', ({ dir, helper }) => {
  let out: FixtureOutput;

  beforeAll(() => {
    const compiled = tsc(join(FIXTURES, dir));
    expect(compiled.output).toBe('');
    expect(compiled.status).toBe(0);
    const run = spawnSync(process.execPath, [join(FIXTURES, dir, 'dist/main.js')], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    out = JSON.parse(run.stdout) as FixtureOutput;
  }, 120_000);

  it(`should have been emitted with ${helper.replace('(', '')}`, () => {
    const js = readFileSync(join(FIXTURES, dir, 'dist/main.js'), 'utf8');
    expect(js).toContain(helper);
    expect(js).not.toContain(helper === '__esDecorate' ? '__decorate(' : '__esDecorate');
  });

  it('should give back what the methods returned, resolved, threw and rejected, unchanged', () => {
    expect(out.seen).toMatchObject({
      syncResult: 'react app',
      asyncResult: 'vue app',
      returnsPromise: true,
      syncError: { sameClass: true, framework: 'vue', message: 'generation failed for vue' },
      asyncError: { sameClass: true, framework: 'react', message: 'generation failed for react' },
      files: [3, 12],
      depth: 7,
      calls: 5,
      names: ['generateSync', 'generateAsync'],
      image: 'image',
      imageError: 'generation failed for image',
    });
  });

  it('should count calls once each, with success and failure outcomes', () => {
    const counts = (framework: string, outcome: string) =>
      value(out, 'code_generations_total', { framework, outcome });
    expect({
      reactSuccess: counts('react', 'success'),
      reactFailure: counts('react', 'failure'),
      vueSuccess: counts('vue', 'success'),
      vueFailure: counts('vue', 'failure'),
    }).toEqual({ reactSuccess: 2, reactFailure: 1, vueSuccess: 1, vueFailure: 1 });
  });

  it('should time sync and async calls, an async one until its promise settles', () => {
    const count = (framework: string, outcome: string) =>
      value(out, 'code_generation_seconds_count', { framework, outcome });
    expect([count('react', 'success'), count('react', 'failure')]).toEqual([2, 1]);
    expect([count('vue', 'success'), count('vue', 'failure')]).toEqual([1, 1]);
    // The async methods wait 20 ms before resolving or rejecting.
    const asyncSum = value(out, 'code_generation_seconds_sum', {
      framework: 'vue',
      outcome: 'success',
    });
    expect(asyncSum).toBeGreaterThanOrEqual(0.015);
    expect(
      value(out, 'code_generation_seconds_sum', { framework: 'react', outcome: 'failure' }),
    ).toBeGreaterThanOrEqual(0.015);
  });

  it('should observe returned values into a histogram and a gauge', () => {
    expect(value(out, 'generated_files_count')).toBe(2);
    expect(value(out, 'generated_files_sum')).toBe(15);
    expect(value(out, 'render_queue_depth')).toBe(7);
  });

  it("should record a static method's failures only, with when: 'failure'", () => {
    expect(value(out, 'image_generations_total', { outcome: 'failure' })).toBe(1);
    expect(value(out, 'image_generations_total', { outcome: 'success' })).toBe(0);
  });

  it('should reject bad decorations when the class is defined, with coded errors', () => {
    expect(out.errors).toEqual({
      timedOnCounter: C.INVALID_METRIC,
      timedNotSeconds: C.INVALID_METRIC,
      withoutCall: C.NOT_CALLED,
      badStaticLabel: C.INVALID_LABELS,
    });
  });
});

describe('decorated methods and reflect-metadata', () => {
  // reflect-metadata is not installed here; this is the part of its API NestJS uses, kept on the
  // function objects in a WeakMap as reflect-metadata does.
  const store = new WeakMap<object, Map<unknown, unknown>>();
  const api = {
    defineMetadata: (key: unknown, value: unknown, target: object) => {
      if (!store.has(target)) store.set(target, new Map());
      store.get(target)!.set(key, value);
    },
    getOwnMetadata: (key: unknown, target: object) => store.get(target)?.get(key),
    getOwnMetadataKeys: (target: object) => [...(store.get(target)?.keys() ?? [])],
  };

  it('should carry metadata set on the original method over to the wrapper', () => {
    const reflect = Reflect as unknown as Record<string, unknown>;
    Object.assign(reflect, api);
    try {
      const { metrics } = defineBusinessMetrics(
        { routes_called_total: { type: 'counter', help: 'Calls' } },
        { registry: new Registry() },
      );
      const original = function list() {
        return 'list';
      };
      api.defineMetadata('path', '/videos', original);
      api.defineMetadata('method', 0, original);
      // The call shape of experimentalDecorators, as TypeScript's __decorate makes it.
      const descriptor: PropertyDescriptor = {
        value: original,
        writable: true,
        configurable: true,
      };
      const decorate = Counted(metrics.routes_called_total) as unknown as (
        ...args: unknown[]
      ) => PropertyDescriptor;
      const result = decorate({}, 'list', descriptor);
      const wrapped = result.value as () => string;
      expect(wrapped).not.toBe(original);
      expect(wrapped()).toBe('list');
      expect(api.getOwnMetadata('path', wrapped)).toBe('/videos');
      expect(api.getOwnMetadata('method', wrapped)).toBe(0);
    } finally {
      for (const key of Object.keys(api)) delete reflect[key];
    }
  });
});
