// Every ERR_VIGIL_TRACING_* code: thrown at the factory call (or the first request for a missing `()`).
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import Koa from 'koa';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { KoaInstrumentation } from '@opentelemetry/instrumentation-koa';
import { Gauge, Registry } from 'prom-client';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  EXPORTED_METRIC,
  TRACING_ERROR_CODES,
  type TracingMiddlewareOptions,
  type TracingOptions,
  expressTracing,
  expressTracingErrors,
  getTracing,
  koaTracing,
  startTracing,
} from '@vigil/tracing';
import { Koa2, express4 } from './support/behaviour-apps';
import { closeServers, fetchRaw, startServer } from './support/behaviour-http';

const README = 'See "Error codes" in the @vigil/tracing README.';

interface Coded {
  code: string;
  message: string;
}

/** Runs `fn`, expecting a coded error; returns it and notes its code. */
function codedError(fn: () => unknown): Coded {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'an error was thrown').toBeInstanceOf(Error);
  const err = caught as Coded & Error;
  expect(err.name).toBe('VigilError');
  expect(err.message.startsWith(`${err.code}: `)).toBe(true);
  // Option errors point at "Error codes", other coded errors at their own heading under it.
  expect(err.message).toMatch(
    /See "(?:ERR_VIGIL_TRACING_\w+" under ")?Error codes" in the @vigil\/tracing README\.$/,
  );
  return err;
}

const SEVENTEEN = Array.from({ length: 17 }, (_, i) => `k${i}`);

interface OptionCase {
  label: string;
  options: unknown;
  code: string;
  /** Words the message must contain: the option named, the value shown, the expectation. */
  words: string[];
}

const MIDDLEWARE_CASES: OptionCase[] = [
  {
    label: 'a string instead of options',
    options: 'x',
    code: TRACING_ERROR_CODES.INVALID_OPTIONS,
    words: ['"options"', 'an object or undefined', "'x'"],
  },
  {
    label: 'an array instead of options',
    options: [],
    code: TRACING_ERROR_CODES.INVALID_OPTIONS,
    words: ['"options"', '[]'],
  },
  {
    label: 'a typo (ignorePath)',
    options: { ignorePath: ['/x'] },
    code: TRACING_ERROR_CODES.UNKNOWN_OPTION,
    words: ['"ignorePath"', 'ignorePaths', 'Check the spelling'],
  },
  {
    label: 'inboundPolicy "trust"',
    options: { inboundPolicy: 'trust' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"inboundPolicy"', '"continue", "restart" or "ignore"', "'trust'"],
  },
  {
    label: 'ignorePaths as a string',
    options: { ignorePaths: 'x' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"ignorePaths"', 'an array of paths or RegExps', "'x'"],
  },
  {
    label: 'ignorePaths with a number',
    options: { ignorePaths: ['/ok', 5] },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"ignorePaths"', "[ '/ok', 5 ]"],
  },
  {
    label: '17 baggageAttributes',
    options: { baggageAttributes: SEVENTEEN },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"baggageAttributes"', 'at most 16', "'k0'"],
  },
  {
    label: 'an empty baggage key',
    options: { baggageAttributes: ['tenant', ''] },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"baggageAttributes"', "'tenant'"],
  },
  {
    label: 'spanAttributes: 5',
    options: { spanAttributes: 5 },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"spanAttributes"', 'a function', 'received 5'],
  },
  {
    label: 'traceResponse: "yes"',
    options: { traceResponse: 'yes' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"traceResponse"', 'a boolean', "'yes'"],
  },
  {
    label: 'tracerProvider: {}',
    options: { tracerProvider: {} },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"tracerProvider"', 'TracerProvider', '{}'],
  },
  {
    label: 'logger: {}',
    options: { logger: {} },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"logger"', 'warn()', '{}'],
  },
  {
    label: 'trustedProxies as a string',
    options: { trustedProxies: '10.0.0.0/8' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"trustedProxies"', 'an array', "'10.0.0.0/8'"],
  },
  {
    label: 'trustedProxies with a /33 prefix',
    options: { trustedProxies: ['10.0.0.0/33', 'nope'] },
    code: TRACING_ERROR_CODES.INVALID_CIDR,
    words: ['"trustedProxies"', "'10.0.0.0/33'", 'CIDR'],
  },
  {
    label: 'trustedProxies with a name',
    options: { trustedProxies: ['127.0.0.1', 'nope'] },
    code: TRACING_ERROR_CODES.INVALID_CIDR,
    words: ['"trustedProxies"', "'nope'"],
  },
  {
    label: 'trustedProxies with an IPv6 /129',
    options: { trustedProxies: ['fd00::/129'] },
    code: TRACING_ERROR_CODES.INVALID_CIDR,
    words: ["'fd00::/129'"],
  },
  {
    label: 'trustedProxies with two slashes',
    options: { trustedProxies: ['10.0.0.0/8/8'] },
    code: TRACING_ERROR_CODES.INVALID_CIDR,
    words: ["'10.0.0.0/8/8'"],
  },
];

const START_CASES: (OptionCase & { env: Record<string, string> })[] = [
  {
    label: 'samplerRatio 1.5',
    options: { samplerRatio: 1.5 },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"samplerRatio"', 'a number from 0 to 1', 'received 1.5'],
  },
  {
    label: 'samplerRatio -0.1',
    options: { samplerRatio: -0.1 },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"samplerRatio"', '-0.1'],
  },
  {
    label: 'OTEL_TRACES_SAMPLER_ARG=1.5',
    options: {},
    env: { OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1.5' },
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"OTEL_TRACES_SAMPLER_ARG"', "'1.5'"],
  },
  {
    label: 'OTEL_TRACES_SAMPLER_ARG=half',
    options: {},
    env: { OTEL_TRACES_SAMPLER_ARG: 'half' },
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"OTEL_TRACES_SAMPLER_ARG"', "'half'"],
  },
  {
    label: 'sampler "sometimes"',
    options: { sampler: 'sometimes' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"sampler"', 'parentbased_always_on', "'sometimes'"],
  },
  {
    label: 'OTEL_TRACES_SAMPLER=sometimes',
    options: {},
    env: { OTEL_TRACES_SAMPLER: 'sometimes' },
    code: TRACING_ERROR_CODES.INVALID_SAMPLER,
    words: ['"OTEL_TRACES_SAMPLER"', "'sometimes'"],
  },
  {
    label: 'a typo (sampleRatio)',
    options: { sampleRatio: 0.5 },
    env: {},
    code: TRACING_ERROR_CODES.UNKNOWN_OPTION,
    words: ['"sampleRatio"', 'samplerRatio'],
  },
  {
    label: 'exporter "zipkin"',
    options: { exporter: 'zipkin' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"exporter"', "'zipkin'"],
  },
  {
    label: 'OTEL_TRACES_EXPORTER=zipkin',
    options: {},
    env: { OTEL_TRACES_EXPORTER: 'zipkin' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"OTEL_TRACES_EXPORTER"', "'zipkin'"],
  },
  {
    label: 'traceBuffer "big"',
    options: { traceBuffer: 'big' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"traceBuffer"', "'big'"],
  },
  {
    label: 'spanProcessors [{}]',
    options: { spanProcessors: [{}] },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"spanProcessors"', 'SpanProcessors'],
  },
  {
    label: 'httpClientSpans "yes"',
    options: { httpClientSpans: 'yes' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"httpClientSpans"', 'a boolean'],
  },
  {
    label: 'a string instead of options',
    options: 'on',
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTIONS,
    words: ['"options"', "'on'"],
  },
  {
    label: 'exporter []',
    options: { exporter: [] },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"exporter"', 'or an array of them', 'received []', 'Use "none" for no exporter.'],
  },
  {
    label: 'exporter "otlp,console" (a list as a string)',
    options: { exporter: 'otlp,console' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"exporter"', "'otlp,console'", 'Pass a list as an array: ["otlp", "console"].'],
  },
  {
    label: 'exporter ["none", "console"]',
    options: { exporter: ['none', 'console'] },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: [
      '"exporter"',
      "[ 'none', 'console' ]",
      '"none" means no exporter, so it cannot be listed with others',
    ],
  },
  {
    label: 'OTEL_TRACES_EXPORTER=otlp,zipkin',
    options: {},
    env: { OTEL_TRACES_EXPORTER: 'otlp,zipkin' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: [
      '"OTEL_TRACES_EXPORTER"',
      'a comma-separated list of "otlp" and "console", or "none"',
      "'otlp,zipkin'",
    ],
  },
  {
    label: 'OTEL_TRACES_EXPORTER=console,none',
    options: {},
    env: { OTEL_TRACES_EXPORTER: 'console,none' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"OTEL_TRACES_EXPORTER"', "'console,none'", 'drop "none", or list it alone'],
  },
  {
    label: 'OTEL_EXPORTER_OTLP_PROTOCOL=grpc',
    options: {},
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' },
    code: TRACING_ERROR_CODES.UNSUPPORTED_PROTOCOL,
    words: [
      '"OTEL_EXPORTER_OTLP_PROTOCOL"',
      'must be "http/protobuf" or "http/json"',
      "received 'grpc'",
      'use http/protobuf',
      'port 4318',
    ],
  },
  {
    label: 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc (over a valid OTEL_EXPORTER_OTLP_PROTOCOL)',
    options: {},
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'grpc',
    },
    code: TRACING_ERROR_CODES.UNSUPPORTED_PROTOCOL,
    words: ['"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"', "received 'grpc'"],
  },
  {
    label: 'OTEL_EXPORTER_OTLP_PROTOCOL=http',
    options: { exporter: 'otlp' },
    env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http' },
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"OTEL_EXPORTER_OTLP_PROTOCOL"', '"http/protobuf" or "http/json"', "received 'http'"],
  },
  {
    label: 'logger {}',
    options: { logger: {} },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: [
      '"logger"',
      'a logger with error(), warn(), info() and debug() methods (pino works; missing: error(), warn(), info(), debug())',
    ],
  },
  {
    label: 'logger with warn() only (a middleware logger)',
    options: { logger: { warn() {} } },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"logger"', 'missing: error(), info(), debug()'],
  },
  {
    label: 'logLevel "loud"',
    options: { logLevel: 'loud' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"logLevel"', 'one of none, error, warn, info, debug, verbose, all', "'loud'"],
  },
  {
    label: 'registry {}',
    options: { registry: {} },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"registry"', 'a prom-client Registry or false', 'received {}'],
  },
  {
    label: 'instrumentations as one instrumentation, not an array',
    options: { instrumentations: new KoaInstrumentation({ enabled: false }) },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"instrumentations"', 'an array of OpenTelemetry instrumentations'],
  },
  {
    label: 'instrumentations [[KoaInstrumentation]] (the class)',
    options: { instrumentations: [[KoaInstrumentation]] },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: [
      '"instrumentations"',
      'item 0 (after flattening) is not one',
      'KoaInstrumentation',
      'Pass instances',
    ],
  },
  {
    label: 'resourceAttributes "team=core"',
    options: { resourceAttributes: 'team=core' },
    env: {},
    code: TRACING_ERROR_CODES.INVALID_OPTION,
    words: ['"resourceAttributes"', 'an object of attributes', "'team=core'"],
  },
];

/** The variables START_CASES set, cleared around each case. */
const START_VARS = [
  ...new Set(START_CASES.flatMap((c) => Object.keys(c.env))),
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_SDK_DISABLED',
];

describe.each([
  {
    factory: 'expressTracing',
    make: (o: unknown) => expressTracing(o as TracingMiddlewareOptions),
  },
  { factory: 'koaTracing', make: (o: unknown) => koaTracing(o as TracingMiddlewareOptions) },
])('$factory options', ({ factory, make }) => {
  it.each(MIDDLEWARE_CASES)(
    'should throw $code at the factory call for $label',
    ({ options, code, words }) => {
      const err = codedError(() => make(options));
      expect(err.code).toBe(code);
      expect(err.message).toContain(`${factory}(): option `);
      for (const w of words) expect(err.message).toContain(w);
    },
  );

  it.each([
    { label: 'no options', options: undefined },
    {
      label: 'every option',
      options: {
        inboundPolicy: 'restart',
        trustedProxies: ['10.0.0.0/8', 'fd00::/8', '192.168.1.7'],
        ignorePaths: ['/x', /^\/internal\//g],
        baggageAttributes: Array.from({ length: 16 }, (_, i) => `k${i}`),
        spanAttributes: () => ({}),
        traceResponse: true,
        logger: { warn: () => undefined },
      },
    },
  ])('should accept $label', ({ options }) => {
    expect(typeof make(options)).toBe('function');
  });
});

describe('mounting a factory without calling it', () => {
  afterEach(closeServers);

  it.each([
    { name: 'express4', factory: express4 },
    { name: 'express5', factory: express },
  ])(
    'should fail the first request with ERR_VIGIL_TRACING_NOT_CALLED on $name (expressTracing)',
    async ({ factory }) => {
      const errors: unknown[] = [];
      const app = factory();
      app.use(expressTracing as unknown as RequestHandler);
      app.get('/', (_req, res) => {
        res.send('ok');
      });
      const onError: ErrorRequestHandler = (err, _req, res, _next) => {
        errors.push(err);
        res.status(500).end();
      };
      app.use(onError);
      const { origin } = await startServer(app);
      expect((await fetchRaw(origin, '/')).status).toBe(500);
      expect(errors).toHaveLength(1);
      const err = codedError(() => {
        throw errors[0];
      });
      expect(err.code).toBe(TRACING_ERROR_CODES.NOT_CALLED);
      expect(err.message).toContain(
        "expressTracing was called with Express's (req, res, next) instead of its options: it was handed to the app (app.use() or a route) without being called. It returns the middleware: mount the result first, before your routes and the metrics middleware. Fix: `app.use(expressTracing())`.",
      );
    },
  );

  it('should fail the first request with ERR_VIGIL_TRACING_NOT_CALLED (expressTracingErrors)', async () => {
    const errors: unknown[] = [];
    const app = express();
    app.use(expressTracingErrors as unknown as RequestHandler);
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    app.use(((err, _req, res, _next) => {
      errors.push(err);
      res.status(500).end();
    }) as ErrorRequestHandler);
    const { origin } = await startServer(app);
    expect((await fetchRaw(origin, '/')).status).toBe(500);
    const err = codedError(() => {
      throw errors[0];
    });
    expect(err.code).toBe(TRACING_ERROR_CODES.NOT_CALLED);
    expect(err.message).toContain(
      'It returns an error middleware: mount the result after your routes and before your own error handler.',
    );
    expect(err.message).toContain('Fix: `app.use(expressTracingErrors())`.');
  });

  it.each([
    { name: 'koa2', Factory: Koa2 },
    { name: 'koa3', Factory: Koa },
  ])(
    'should fail the first request with ERR_VIGIL_TRACING_NOT_CALLED on $name (koaTracing)',
    async ({ Factory }) => {
      const errors: unknown[] = [];
      const app = new Factory();
      app.silent = true;
      app.on('error', (err: unknown) => errors.push(err));
      app.use(koaTracing as unknown as Koa.Middleware);
      app.use((ctx) => {
        ctx.body = 'ok';
      });
      const handle = app.callback();
      const { origin } = await startServer((req, res) => void handle(req, res));
      expect((await fetchRaw(origin, '/')).status).toBe(500);
      const err = codedError(() => {
        throw errors[0];
      });
      expect(err.code).toBe(TRACING_ERROR_CODES.NOT_CALLED);
      expect(err.message).toContain("koaTracing was called with Koa's (ctx, next)");
      expect(err.message).toContain('Fix: `app.use(koaTracing())`.');
    },
  );

  it('should detect request arguments handed to startTracing', () => {
    const fakeReq = { socket: {}, headers: {} } as unknown as IncomingMessage;
    const err = codedError(() => startTracing(fakeReq as unknown as TracingOptions));
    expect(err.code).toBe(TRACING_ERROR_CODES.NOT_CALLED);
    expect(getTracing()).toBeUndefined();
  });
});

describe('startTracing options and variables', () => {
  const saved = Object.fromEntries(START_VARS.map((k) => [k, process.env[k]]));
  beforeEach(() => {
    for (const k of START_VARS) delete process.env[k];
  });
  afterEach(async () => {
    await getTracing()?.shutdown();
    for (const k of START_VARS) delete process.env[k];
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v !== undefined) process.env[k] = v;
  });

  it.each(START_CASES)(
    'should throw $code for $label, and start nothing',
    ({ options, env, code, words }) => {
      Object.assign(process.env, env);
      const err = codedError(() => startTracing(options as TracingOptions));
      expect(err.code).toBe(code);
      expect(err.message).toContain('startTracing(): option ');
      for (const w of words) expect(err.message).toContain(w);
      expect(getTracing()).toBeUndefined();
    },
  );

  it('should throw ERR_VIGIL_TRACING_ALREADY_STARTED on a second call', () => {
    const tracing = startTracing({ exporter: 'none', httpClientSpans: false });
    const err = codedError(() => startTracing());
    expect(err.code).toBe(TRACING_ERROR_CODES.ALREADY_STARTED);
    expect(err.message).toContain('already started');
    expect(err.message).toContain('shutdown()');
    expect(getTracing()).toBe(tracing);
  });

  it('should throw ERR_VIGIL_TRACING_METRIC_CONFLICT when the registry holds another metric of the name', () => {
    const registry = new Registry();
    new Gauge({
      name: EXPORTED_METRIC,
      help: 'not ours',
      labelNames: ['exporter'],
      registers: [registry],
    });
    const err = codedError(() =>
      startTracing({ registry, exporter: 'console', httpClientSpans: false }),
    );
    expect(err.code).toBe(TRACING_ERROR_CODES.METRIC_CONFLICT);
    expect(err.message).toBe(
      'ERR_VIGIL_TRACING_METRIC_CONFLICT: startTracing(): option "registry" already holds tracing_spans_exported_total as a gauge with labels [exporter]; @vigil/tracing needs a counter with labels [exporter, outcome]. Pass another Registry, or remove the other metric. See "ERR_VIGIL_TRACING_METRIC_CONFLICT" under "Error codes" in the @vigil/tracing README.',
    );
    expect(getTracing()).toBeUndefined();
  });

  it('should refuse an instrumentation Vigil registers already, and leave Vigil’s own off', () => {
    const mine = new HttpInstrumentation();
    const err = codedError(() => startTracing({ exporter: 'none', instrumentations: [mine] }));
    mine.disable();
    expect(err.code).toBe(TRACING_ERROR_CODES.INVALID_OPTION);
    expect(err.message).toBe(
      `ERR_VIGIL_TRACING_INVALID_OPTION: startTracing(): option "instrumentations" must be instrumentations Vigil does not register already, received '@opentelemetry/instrumentation-http'. Vigil registers it (httpClientSpans, layerSpans): turn that option off to register your own, or leave it out. ${README}`,
    );
    expect(getTracing()).toBeUndefined();
    // With Vigil's turned off, the app's own is taken.
    const own = new HttpInstrumentation({ enabled: false });
    startTracing({ exporter: 'none', httpClientSpans: false, instrumentations: [own] });
    expect(own.isEnabled()).toBe(true);
  });

  it('should reject an empty service name for providerFor()', () => {
    const tracing = startTracing({ exporter: 'none', httpClientSpans: false });
    const err = codedError(() => tracing.providerFor(''));
    expect(err.code).toBe(TRACING_ERROR_CODES.INVALID_OPTION);
    expect(err.message).toContain('providerFor(): option "serviceName" must be a non-empty string');
  });
});

describe('TRACING_ERROR_CODES', () => {
  it('should have an entry for every code in the README the messages point to', () => {
    const readme = join(__dirname, '..', 'README.md');
    expect(existsSync(readme), `${readme} (every message says: ${README})`).toBe(true);
    const text = readFileSync(readme, 'utf8');
    expect(text).toMatch(/^#+ Error codes/m);
    for (const code of Object.values(TRACING_ERROR_CODES)) expect(text).toContain(code);
  });

  it('should have every code pinned by a case of this file', () => {
    const pinned = new Set([
      ...MIDDLEWARE_CASES.map((c) => c.code),
      ...START_CASES.map((c) => c.code),
      // Pinned by the mounting tests, the second-start test and the metric-conflict test.
      TRACING_ERROR_CODES.NOT_CALLED,
      TRACING_ERROR_CODES.ALREADY_STARTED,
      TRACING_ERROR_CODES.METRIC_CONFLICT,
    ]);
    expect([...pinned].sort()).toEqual(Object.values(TRACING_ERROR_CODES).sort());
  });
});
