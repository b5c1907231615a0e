// Every error code of @vigil/business-metrics, pinned with the main words of its message.
import express, { type ErrorRequestHandler } from 'express';
import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BUSINESS_METRICS_ERROR_CODES,
  Counted,
  Observed,
  Timed,
  VigilError,
  defineBusinessMetrics,
  track,
} from '@vigil/business-metrics';
import { shopCatalogue } from './support/apps';
import { closeServers, rawRequest, startServer } from '@vigil/test-utils';

afterEach(closeServers);

/** Calls with untyped arguments, as JavaScript users (and misconfigured apps) do. */
const loose = <F extends (...args: never[]) => unknown>(fn: F) =>
  fn as unknown as (...args: unknown[]) => unknown;
const define = loose(defineBusinessMetrics);
const C = BUSINESS_METRICS_ERROR_CODES;

const counter = (name: string, extra: Record<string, unknown> = {}) =>
  define({ [name]: { type: 'counter', help: 'Things', ...extra } }, { registry: new Registry() });
const gauge = (name: string, extra: Record<string, unknown> = {}) =>
  define({ [name]: { type: 'gauge', help: 'Things', ...extra } }, { registry: new Registry() });
const histogram = (name: string, extra: Record<string, unknown> = {}) =>
  define({ [name]: { type: 'histogram', help: 'Things', ...extra } }, { registry: new Registry() });
const labelled = (labels: Record<string, unknown>) => counter('things_total', { labels });

interface ErrorCase {
  name: string;
  call: () => unknown;
  code: string;
  message: RegExp;
}

const m = () => shopCatalogue().metrics;

const CASES: ErrorCase[] = [
  // ---- defineBusinessMetrics(definitions, options) ----
  {
    name: 'definitions that are not an object',
    call: () => define(null),
    code: C.INVALID_DEFINITION,
    message:
      /defineBusinessMetrics\(\): option "definitions" must be an object mapping metric names to definitions/,
  },
  {
    name: 'a definition that is not an object',
    call: () => define({ things_total: 'counter' }),
    code: C.INVALID_DEFINITION,
    message: /option "things_total" must be a definition object .* received 'counter'/,
  },
  {
    name: 'options that are not an object',
    call: () => define({}, 'x'),
    code: C.INVALID_OPTIONS,
    message: /option "options" must be an object or undefined, received 'x'/,
  },
  {
    name: 'an unknown option',
    call: () => define({}, { registy: new Registry() }),
    code: C.UNKNOWN_OPTION,
    message: /option "registy" must be one of registry, prefix, logger, maxRoutes/,
  },
  {
    name: 'an unknown definition field',
    call: () => histogram('wait_seconds', { bukets: [1] }),
    code: C.UNKNOWN_OPTION,
    message: /option "wait_seconds.bukets" must be one of type, help, unit, labels, buckets/,
  },
  {
    name: 'a logger without warn()',
    call: () => define({}, { logger: {} }),
    code: C.INVALID_OPTION,
    message: /option "logger" must be a logger with a warn\(\) method/,
  },
  {
    name: 'maxRoutes out of range',
    call: () => define({}, { maxRoutes: 0 }),
    code: C.INVALID_OPTION,
    message: /option "maxRoutes" must be an integer from 1 to 100000, received 0/,
  },
  {
    name: 'a registry that is not one',
    call: () => define({}, { registry: {} }),
    code: C.INVALID_REGISTRY,
    message: /option "registry" must be a prom-client Registry, received \{\}/,
  },
  {
    name: 'a prefix that cannot start a metric name',
    call: () => define({}, { prefix: '1shop_' }),
    code: C.INVALID_PREFIX,
    message:
      /option "prefix" must be a valid start of a Prometheus metric name .* received '1shop_'/,
  },
  {
    name: 'an unknown type',
    call: () => define({ things: { type: 'summary', help: 'x' } }),
    code: C.INVALID_TYPE,
    message: /option "things.type" must be 'counter', 'gauge' or 'histogram', received 'summary'/,
  },
  {
    name: 'a missing help text',
    call: () => define({ things_total: { type: 'counter' } }),
    code: C.INVALID_HELP,
    message: /option "things_total.help" must be a non-empty string/,
  },
  {
    name: 'a name outside the Prometheus pattern',
    call: () => counter('uploads-total'),
    code: C.INVALID_NAME,
    message: /option "uploads-total" must be a Prometheus metric name/,
  },
  {
    name: 'a camelCase name',
    call: () => counter('uploadsCount_total'),
    code: C.INVALID_NAME,
    message:
      /must be a metric name promtool accepts \(metric names are written in snake_case, not camelCase\)/,
  },
  {
    name: 'a colon in the name',
    call: () => counter('shop:uploads_total'),
    code: C.INVALID_NAME,
    message: /colons are reserved for recording rules/,
  },
  {
    name: 'the type in the name',
    call: () => gauge('streams_gauge'),
    code: C.INVALID_NAME,
    message: /the name must not include the metric type \("gauge"\)/,
  },
  {
    name: 'a non-base unit in the name',
    call: () => histogram('render_milliseconds', { buckets: [1] }),
    code: C.INVALID_NAME,
    message: /use the base unit "seconds" instead of "milliseconds"/,
  },
  {
    name: 'an abbreviated unit in the name',
    call: () => histogram('render_ms', { buckets: [1] }),
    code: C.INVALID_NAME,
    message: /abbreviated unit "ms"/,
  },
  {
    name: 'a counter without _total',
    call: () => counter('uploads'),
    code: C.INVALID_SUFFIX,
    message:
      /option "uploads" must be a counter name ending in "_total", received 'uploads'. Rename it "uploads_total"/,
  },
  {
    name: 'a gauge with _total',
    call: () => gauge('streams_total'),
    code: C.INVALID_SUFFIX,
    message: /must be a gauge name without the counter suffix "_total"/,
  },
  {
    name: 'a histogram suffix on a gauge',
    call: () => gauge('queue_count'),
    code: C.INVALID_SUFFIX,
    message: /must be a name not ending in "_count"/,
  },
  {
    name: 'a declared unit missing from the name',
    call: () => histogram('upload_size', { unit: 'bytes' }),
    code: C.INVALID_SUFFIX,
    message:
      /must be a name ending in "_bytes", since its unit is "bytes", received 'upload_size'. Rename it "upload_size_bytes"/,
  },
  {
    name: 'a declared unit missing before _total',
    call: () => counter('revenue_total', { unit: 'cents' }),
    code: C.INVALID_SUFFIX,
    message: /must be a name ending in "_cents"_total/,
  },
  {
    name: 'an abbreviated unit',
    call: () => histogram('render_ms', { unit: 'ms' }),
    code: C.INVALID_UNIT,
    message: /option "render_ms.unit" must be a unit spelled out, not the abbreviation "ms"/,
  },
  {
    name: 'a non-base unit',
    call: () => histogram('render_minutes', { unit: 'minutes' }),
    code: C.INVALID_UNIT,
    message: /option "render_minutes.unit" must be a base unit: "seconds" instead of "minutes"/,
  },
  {
    name: 'a unit that is not snake_case',
    call: () => gauge('temperature_Kelvin', { unit: 'Kelvin' }),
    code: C.INVALID_UNIT,
    message: /must be a lower-case snake_case word, received 'Kelvin'/,
  },
  {
    name: "one of Vigil's own metric names",
    call: () => counter('http_requests_total'),
    code: C.RESERVED_NAME,
    message: /option "http_requests_total" must be a name that is not one of Vigil's own signals/,
  },
  {
    name: 'a reserved label name',
    call: () => labelled({ __meta: { cap: 3 } }),
    code: C.INVALID_LABEL_NAME,
    message:
      /option "things_total.labels.__meta" must be a usable label name \(names starting with "__" are reserved/,
  },
  {
    name: 'the histogram bucket label',
    call: () => labelled({ le: { cap: 3 } }),
    code: C.INVALID_LABEL_NAME,
    message: /"le" is the histogram bucket label/,
  },
  {
    name: 'a camelCase label name',
    call: () => labelled({ videoFormat: { values: ['a'] } }),
    code: C.INVALID_LABEL_NAME,
    message: /label names are written in snake_case/,
  },
  {
    name: 'an unknown auto label',
    call: () => labelled({ path: 'path' }),
    code: C.INVALID_LABEL_SPEC,
    message:
      /option "things_total.labels.path" must be \{ values: string\[\] \} \(a closed set\), \{ cap: number \}/,
  },
  {
    name: 'both values and cap',
    call: () => labelled({ plan: { values: ['a'], cap: 3 } }),
    code: C.INVALID_LABEL_SPEC,
    message: /Give exactly one of "values" or "cap"/,
  },
  {
    name: 'an empty closed set',
    call: () => labelled({ plan: { values: [] } }),
    code: C.INVALID_LABEL_SPEC,
    message:
      /option "things_total.labels.plan.values" must be a non-empty array of distinct, non-empty strings/,
  },
  {
    name: 'a duplicated value',
    call: () => labelled({ plan: { values: ['pro', 'pro'] } }),
    code: C.INVALID_LABEL_SPEC,
    message:
      /must be a non-empty array of distinct, non-empty strings, received \[ 'pro', 'pro' \]/,
  },
  {
    name: 'the overflow value in a closed set',
    call: () => labelled({ plan: { values: ['pro', '__overflow__'] } }),
    code: C.INVALID_LABEL_SPEC,
    message: /without "__overflow__"/,
  },
  {
    name: 'a cap out of range',
    call: () => labelled({ user_agent: { cap: 0 } }),
    code: C.INVALID_LABEL_SPEC,
    message:
      /option "things_total.labels.user_agent.cap" must be an integer from 1 to 100000, received 0/,
  },
  {
    name: 'two route labels',
    call: () => labelled({ route: 'route', path: 'route' }),
    code: C.INVALID_LABEL_SPEC,
    message: /must be a spec other than 'route', which label "route" already has/,
  },
  {
    name: 'buckets on a counter',
    call: () => counter('things_total', { buckets: [1, 2] }),
    code: C.INVALID_BUCKETS,
    message: /option "things_total.buckets" must be left out: a counter has no buckets/,
  },
  {
    name: 'buckets out of order',
    call: () => histogram('wait_seconds', { buckets: [1, 0.5] }),
    code: C.INVALID_BUCKETS,
    message:
      /option "wait_seconds.buckets" must be a non-empty array of finite numbers in strictly increasing order/,
  },
  {
    name: 'a histogram in another unit without buckets',
    call: () => histogram('cart_items'),
    code: C.INVALID_BUCKETS,
    message:
      /option "cart_items.buckets" must be given for a histogram in no unit \(defaults exist only for seconds and bytes\)/,
  },
  {
    name: 'a foreign metric of the same name',
    call: () => {
      const registry = new Registry();
      new Counter({ name: 'things_total', help: 'Mine', registers: [registry] });
      return define({ things_total: { type: 'counter', help: 'Things' } }, { registry });
    },
    code: C.METRIC_CONFLICT,
    message: /The registry already holds another metric named "things_total"/,
  },
  {
    name: 'a business metric defined otherwise',
    call: () => {
      const registry = new Registry();
      define({ things_total: { type: 'counter', help: 'Things' } }, { registry });
      return define({ things_total: { type: 'counter', help: 'Other things' } }, { registry });
    },
    code: C.METRIC_CONFLICT,
    message: /holds "things_total" from another catalogue with a different definition/,
  },
  // ---- track(metric, spec) ----
  {
    name: 'track() given no metric',
    call: () => loose(track)({}),
    code: C.INVALID_METRIC,
    message:
      /track\(\): the metric must be a counter, gauge or histogram handle from defineBusinessMetrics\(\)/,
  },
  {
    name: 'track() given a prom-client metric',
    call: () => loose(track)(new Counter({ name: 'x_total', help: 'x', registers: [] })),
    code: C.INVALID_METRIC,
    message: /received Counter/,
  },
  {
    name: 'an unknown track() field',
    call: () => loose(track)(m().streams_active, { lables: {} }),
    code: C.UNKNOWN_OPTION,
    message: /track\(\): option "lables" must be one of labels, value, when, op/,
  },
  {
    name: 'an unknown when',
    call: () => loose(track)(m().streams_active, { when: 'sometimes' }),
    code: C.INVALID_SPEC,
    message:
      /option "when" must be 'success', 'failure', 'aborted', 'always' or a non-empty array of outcomes/,
  },
  {
    name: 'op on a counter',
    call: () => loose(track)(m().orders_created_total, { labels: { plan: 'pro' }, op: 'dec' }),
    code: C.INVALID_SPEC,
    message: /option "op" must be left out: orders_created_total is a counter/,
  },
  {
    name: 'a negative counter value',
    call: () => loose(track)(m().orders_created_total, { labels: { plan: 'pro' }, value: -1 }),
    code: C.INVALID_SPEC,
    message:
      /option "value" must be a non-negative finite number or a function returning one, received -1/,
  },
  {
    name: 'a histogram not in seconds without a value',
    call: () => loose(track)(m().upload_size_bytes, { labels: { format: 'mp4' } }),
    code: C.INVALID_SPEC,
    message: /upload_size_bytes is in bytes, so the request duration cannot be its default value/,
  },
  {
    name: "op 'set' without a value",
    call: () => loose(track)(m().streams_active, { op: 'set' }),
    code: C.INVALID_SPEC,
    message: /option "value" must be given when op is 'set'/,
  },
  {
    name: 'a static label value outside the set',
    call: () => loose(track)(m().orders_created_total, { labels: { plan: 'gold' } }),
    code: C.INVALID_LABELS,
    message:
      /track\(\): option "labels.plan" must be one of free, pro \(label "plan" of orders_created_total\), received 'gold'/,
  },
  {
    name: 'an unknown static label',
    call: () => loose(track)(m().orders_created_total, { labels: { plan: 'pro', colour: 'red' } }),
    code: C.INVALID_LABELS,
    message: /option "labels.colour" must be a label of orders_created_total \(plan\)/,
  },
  {
    name: 'a missing static label',
    call: () => loose(track)(m().orders_created_total, { labels: {} }),
    code: C.INVALID_LABELS,
    message: /option "labels.plan" must be given: orders_created_total has the label "plan"/,
  },
  // ---- decorators ----
  {
    name: '@Timed on a counter',
    call: () => loose(Timed)(m().orders_created_total, { labels: { plan: 'pro' } }),
    code: C.INVALID_METRIC,
    message:
      /Timed\(\): the metric must be a histogram handle .* received the counter orders_created_total/,
  },
  {
    name: '@Timed on a histogram in bytes',
    call: () => loose(Timed)(m().upload_size_bytes, { labels: { format: 'mp4' } }),
    code: C.INVALID_METRIC,
    message: /@Timed needs a histogram in seconds, and upload_size_bytes is in bytes/,
  },
  {
    name: '@Observed with a numeric value',
    call: () => loose(Observed)(m().streams_active, { value: 3 }),
    code: C.INVALID_SPEC,
    message:
      /Observed\(\): option "value" must be a function of the finished call returning a number, received 3/,
  },
  {
    name: '@Counted with a route label it cannot fill',
    call: () => loose(Counted)(m().generation_failures_total, { labels: { framework: 'next' } }),
    code: C.INVALID_LABELS,
    message:
      /Counted\(\): option "labels.route" must be given: generation_failures_total has the label "route" \(route\), which is not known here/,
  },
  {
    name: '@Counted applied without its call (standard decorators)',
    call: () =>
      loose(Counted)(function handler() {}, {
        kind: 'method',
        name: 'handler',
        static: false,
        private: false,
        addInitializer: () => undefined,
      }),
    code: C.NOT_CALLED,
    message:
      /Counted\(\): @Counted is a decorator factory and was applied without its call.*Fix: `@Counted\(business\.metrics\.uploads_total\)`\./,
  },
  {
    name: '@Counted applied without its call (legacy decorators)',
    call: () => loose(Counted)({}, 'handler', { value: () => undefined }),
    code: C.NOT_CALLED,
    message: /@Counted is a decorator factory/,
  },
  {
    name: '@Counted on a gauge',
    call: () => loose(Counted)(m().streams_active),
    code: C.INVALID_METRIC,
    message: /Counted\(\): the metric must be a counter handle/,
  },
  {
    name: 'a method decorator on a field (legacy decorators)',
    call: () => loose(Observed(m().streams_active))({}, 'price', undefined),
    code: C.INVALID_DECORATOR_TARGET,
    message:
      /Observed\(\): @Observed decorates methods, and was applied to a property, received 'price'.*Put @Observed\(...\) on a class method/,
  },
  {
    name: 'a method decorator on a getter (standard decorators)',
    call: () =>
      loose(Observed(m().streams_active))(() => 1, {
        kind: 'getter',
        name: 'price',
        addInitializer: () => undefined,
      }),
    code: C.INVALID_DECORATOR_TARGET,
    message: /@Observed decorates methods, and was applied to a getter/,
  },
];

describe('error codes', () => {
  it.each(CASES)('should throw $code for $name', ({ call, code, message }) => {
    let thrown: unknown;
    try {
      call();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(VigilError);
    const err = thrown as VigilError;
    expect(err.code).toBe(code);
    expect(err.message.startsWith(`${code}: `)).toBe(true);
    expect(err.message).toMatch(message);
    // Option errors point at "Error codes", other coded errors at their own heading under it.
    expect(err.message).toMatch(
      /See "(?:ERR_VIGIL_BUSINESS_METRICS_\w+" under ")?Error codes" in the @vigil\/business-metrics README\.$/,
    );
  });

  it('should pin a test to every code', () => {
    const pinned = new Set(CASES.map((c) => c.code));
    pinned.add(C.NOT_CALLED);
    expect([...pinned].sort()).toEqual(Object.values(C).sort());
  });

  it('should leave the registry untouched when one definition of many is invalid', async () => {
    const registry = new Registry();
    expect(() =>
      define(
        {
          orders_created_total: { type: 'counter', help: 'Orders' },
          streams_total: { type: 'gauge', help: 'Streams' },
        },
        { registry },
      ),
    ).toThrow(C.INVALID_SUFFIX);
    expect(await registry.getMetricsAsJSON()).toEqual([]);
  });
});

describe('track mounted without its call', () => {
  it('should fail each request with ERR_VIGIL_BUSINESS_METRICS_NOT_CALLED', async () => {
    const app = express();
    app.use(track as never);
    app.get('/x', (_req, res) => {
      res.send('x');
    });
    const seen: unknown[] = [];
    const onError: ErrorRequestHandler = (err, _req, res, _next) => {
      seen.push(err);
      res.status(500).end();
    };
    app.use(onError);
    const { origin } = await startServer(app);
    expect((await rawRequest(origin, '/x')).status).toBe(500);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(VigilError);
    expect((seen[0] as VigilError).code).toBe(C.NOT_CALLED);
    expect((seen[0] as VigilError).message).toContain(
      "track was called with Express's (req, res, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It takes the metric to record (from your catalogue, business) and returns a route middleware: put the result on the route, before its handler. Fix: `app.post('/api/videos', track(business.metrics.uploads_total), handler)`.",
    );
  });
});
