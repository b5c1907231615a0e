// The scenarios and the targets. A new scenario is one server file plus one entry here.
import { V8_NEEDS_REQUEST_SHAPES } from '@vigil/core';
import { entry, median, signed } from './lib/stats.mjs';
import { LOG_CHECK_PATH } from './servers/log-common.mjs';
import { RATE_LIMIT_CHECK_PATH } from './servers/rate-limit-common.mjs';
import { SHAPES_CHECK_PATH } from './servers/shapes-common.mjs';
import { SPAN_CHECK_PATH } from './servers/tracing-common.mjs';

/** The scenario every ratio is taken against; it runs in every round whatever BENCH_SCENARIOS says. */
export const BASELINE = 'bare';

/**
 * One after-the-window check: `path` must answer 200 and match every pattern of `expect`.
 * @typedef {{ path: string, expect: RegExp[] }} Check
 */

/**
 * @typedef {object} Scenario
 * @property {string} name
 * @property {string} server  the server script, relative to bench/
 * @property {string} description
 * @property {Check | Check[]} [metrics]  checked after the measured window
 * @property {boolean} [redis]  needs the harness's redis-server
 */

/**
 * The checks after the window of every scenario that runs all of Vigil on one registry (the full
 * stack and the umbrella): HTTP and business metrics and the rate-limit decisions in the scrape,
 * traces in the trace buffer, the lines given to the log destination, and the request shapes learned
 * (none with `shaped: false`, VIGIL_REQUEST_SHAPES=off).
 */
function fullStackChecks({ shaped = true } = {}) {
  return [
    shapesCheck(shaped),
    {
      path: '/metrics',
      expect: [
        ...vigilMetricsExpectations(),
        ...businessMetricsExpectations(),
        allowedExpectation(),
      ],
    },
    { path: SPAN_CHECK_PATH, expect: traceBufferExpectations() },
    { path: LOG_CHECK_PATH, expect: [logExpectation(), noLogDropsExpectation()] },
  ];
}

/**
 * Each scenario is an Express 5 server in `servers/` that mounts its middleware, then the shared route
 * mix (`servers/common.mjs`), then calls `serve(app)`. `metrics`, when given (one check or a list),
 * is checked after the measured window: each path must answer 200 and match every pattern, so a
 * middleware that silently recorded nothing cannot look fast. `redis: true` runs the scenario only
 * where redis-server is installed, against the harness's own (its URL in the server's `REDIS_URL`).
 */
/** @type {Scenario[]} */
export const SCENARIOS = [
  {
    name: 'bare',
    server: 'servers/bare.mjs',
    description: 'Express 5, the route mix, no metrics.',
  },
  {
    name: 'vigil-record',
    server: 'servers/vigil-record.mjs',
    description:
      "Express 5, one middleware calling @vigil/core's `beginRequest(req, res)`, as every Vigil middleware does first: the shared request record alone, which also gives Express's req and res the properties Express adds, before it changes their prototype (stable hidden classes).",
    metrics: shapesCheck(true),
  },
  {
    name: 'vigil-metrics',
    server: 'servers/vigil-metrics.mjs',
    description:
      '`expressMetrics({ collectDefaultMetrics: false })` (requests counter, duration, request size and response size histograms, in-flight gauge) and `GET /metrics` via `expressMetricsHandler()`.',
    metrics: {
      path: '/metrics',
      expect: vigilMetricsExpectations(),
    },
  },
  {
    name: 'vigil-business-metrics',
    server: 'servers/vigil-business-metrics.mjs',
    description:
      '`vigil-metrics` plus three business metrics recorded on every request: `track(counter)` labelled by route template and outcome, `track(histogram)` timing the handler by outcome, and `metrics(req).inc(counter, { kind })` in a middleware.',
    metrics: {
      path: '/metrics',
      expect: [
        /^http_requests_total\{method="GET",route="\/users\/:id",status_code="200"\} [1-9]/m,
        ...businessMetricsExpectations(),
      ],
    },
  },
  {
    name: 'express-prom-bundle',
    server: 'servers/express-prom-bundle.mjs',
    description:
      '`promBundle({ includeMethod: true, includePath: true, includeStatusCode: true })`: one duration histogram (path normalised by url-value-parser) and `up`; serves `/metrics` itself.',
    metrics: {
      path: '/metrics',
      expect: [promBundleExpectation()],
    },
  },
  {
    name: 'prom-client-minimal',
    server: 'servers/prom-client-minimal.mjs',
    description:
      "A hand-written middleware: one prom-client Counter and one Histogram labelled method/route/status_code, recorded on `res.on('finish')` with route `req.baseUrl + req.route.path`; `GET /metrics` from the global registry.",
    metrics: {
      path: '/metrics',
      expect: [/^http_requests_total\{[^}]*route="\/users\/:id"[^}]*\} [1-9]/m],
    },
  },
  // Tracing. Every tracing server sends its spans through a BatchSpanProcessor to an exporter that
  // discards them (servers/tracing-common.mjs). The `metrics` check here reads the server's span check
  // route instead of a Prometheus scrape: spans must have been exported, and the last batch must hold
  // a SERVER span (kind 1) named by its route, so a setup that traced nothing cannot look fast.
  {
    name: 'vigil-tracing-100',
    server: 'servers/vigil-tracing-100.mjs',
    description:
      "`startTracing({ exporter: discarding, traceBuffer: false, sampler: 'parentbased_traceidratio', samplerRatio: 1 })` before Express loads, and `app.use(expressTracing())`.",
    metrics: { path: SPAN_CHECK_PATH, expect: spanExpectations() },
  },
  {
    name: 'vigil-tracing-10',
    server: 'servers/vigil-tracing-10.mjs',
    description: 'As `vigil-tracing-100`, with `samplerRatio: 0.1`.',
    metrics: { path: SPAN_CHECK_PATH, expect: spanExpectations() },
  },
  {
    name: 'otel-plain-100',
    server: 'servers/otel-plain-100.mjs',
    description:
      'Plain OpenTelemetry, hand-assembled: NodeTracerProvider with ParentBasedSampler(TraceIdRatioBasedSampler(1)), BatchSpanProcessor + the discarding exporter, `provider.register()`, then `registerInstrumentations` with HttpInstrumentation and ExpressInstrumentation (default config), before Express loads.',
    metrics: { path: SPAN_CHECK_PATH, expect: spanExpectations({ expressLayers: true }) },
  },
  {
    name: 'otel-plain-10',
    server: 'servers/otel-plain-10.mjs',
    description: 'As `otel-plain-100`, with TraceIdRatioBasedSampler(0.1).',
    metrics: { path: SPAN_CHECK_PATH, expect: spanExpectations({ expressLayers: true }) },
  },
  {
    name: 'vigil-tracing-logger-10',
    server: 'servers/vigil-tracing-logger-10.mjs',
    description:
      "As `vigil-tracing-10`, plus `app.use(expressRequestLogger({ destination: pino.destination('/dev/null') }))` after `expressTracing()`.",
    metrics: { path: SPAN_CHECK_PATH, expect: spanExpectations() },
  },
  {
    name: 'pino-http',
    server: 'servers/pino-http.mjs',
    description:
      "Plain `pino-http` with default options, `app.use(pinoHttp({}, pino.destination('/dev/null')))`. No tracing.",
  },
  // Rate limiting. Nothing is ever limited (a limit of 1e9 per 60 s window, one policy on every path,
  // keyed by client address), so these measure the check and the count every request pays. The
  // Redis scenarios count in the harness's redis-server, emptied before each run; the hit-count check
  // then reads the count of this run (in Redis itself for those), so a limiter that counted nothing,
  // or counted in memory instead of Redis, cannot look fast.
  {
    name: 'vigil-rate-limit',
    server: 'servers/vigil-rate-limit.mjs',
    description:
      "`expressRateLimit({ policies: [{ name: 'api', limit: 1e9, windowMs: 60_000 }], store: 'memory', audit: createAuditLogger({ destination: pino.destination('/dev/null'), registry }), registry })` (express-rate-limit's MemoryStore, draft-8 headers by default), and `GET /metrics` from its registry.",
    metrics: { path: '/metrics', expect: [allowedExpectation()] },
  },
  {
    name: 'express-rate-limit',
    server: 'servers/express-rate-limit.mjs',
    description:
      "Plain `rateLimit({ windowMs: 60_000, limit: 1e9, standardHeaders: 'draft-8', legacyHeaders: false })` on its MemoryStore: the same header draft as Vigil's default, so both do the same work.",
    metrics: { path: RATE_LIMIT_CHECK_PATH, expect: [hitsExpectation()] },
  },
  {
    name: 'vigil-rate-limit-redis',
    server: 'servers/vigil-rate-limit-redis.mjs',
    redis: true,
    description:
      "As `vigil-rate-limit` with `store: 'redis', redis: { url: process.env.REDIS_URL }`: rate-limit-redis on the ioredis client Vigil creates (no offline queue, 250 ms command timeout), guarded, falling back to memory on failure.",
    metrics: [
      { path: '/metrics', expect: [allowedExpectation()] },
      {
        path: RATE_LIMIT_CHECK_PATH,
        expect: [hitsExpectation(), /^rate_limit_store_down\{policy="api"\} 0$/m],
      },
    ],
  },
  {
    name: 'express-rate-limit-redis',
    server: 'servers/express-rate-limit-redis.mjs',
    redis: true,
    description:
      'As `express-rate-limit` with `store: new RedisStore({ sendCommand: (c, ...a) => client.call(c, ...a) })` (rate-limit-redis) on an ioredis client with default options.',
    metrics: { path: RATE_LIMIT_CHECK_PATH, expect: [hitsExpectation()] },
  },
  // Issue 14: the umbrella, every capability through one `vigil(app)` call, at 10 % sampling; checked
  // as vigil-full-stack-10 is.
  {
    name: 'vigil-umbrella-10',
    server: 'servers/vigil-umbrella-10.mjs',
    description:
      "`startTracing({ exporter: 'none', sampler: 'parentbased_traceidratio', samplerRatio: 0.1 })` (trace buffer on) before Express loads; then one `vigil(app, { registry, requestLog: { destination }, metrics: { collectDefaultMetrics: false }, business, rateLimit: { policies: [api, never reached] }, audit: { destination: /dev/null } })`, which also runs the probes, the in-process alerts (default rules) and the live page's sampler; the three business metrics of `vigil-business-metrics` recorded per request.",
    metrics: fullStackChecks(),
  },
  // The full stack against its hand-assembled equivalent, at 10 % and 100 % sampling. Each is checked
  // part by part after the window: metrics (and for Vigil the rate-limit decisions and the business
  // metrics, all on one registry) in the scrape, spans or traces through the span check route, the
  // limiter's count for the plain limiter, and the lines given to the log destination.
  ...[10, 100].flatMap((percent) => [
    {
      name: `vigil-full-stack-${percent}`,
      server: `servers/vigil-full-stack-${percent}.mjs`,
      description: `\`startTracing({ exporter: 'none', sampler: 'parentbased_traceidratio', samplerRatio: ${percent / 100} })\` (trace buffer on) before Express loads; then \`expressTracing()\`, \`expressRequestLogger({ destination })\` to /dev/null, \`expressMetrics\` + \`GET /metrics\`, \`expressRateLimit\` (policy never reached, memory store, audit to /dev/null) and the three business metrics of \`vigil-business-metrics\`, on one registry.`,
      metrics: fullStackChecks(),
    },
    {
      name: `hand-assembled-${percent}`,
      server: `servers/hand-assembled-${percent}.mjs`,
      description: `Plain OpenTelemetry (NodeTracerProvider, ParentBasedSampler(TraceIdRatioBasedSampler(${percent / 100})), no exporter, HttpInstrumentation + ExpressInstrumentation) before Express loads; then \`pinoHttp({}, destination)\` to /dev/null, \`promBundle({ includeMethod: true, includePath: true, includeStatusCode: true })\` and \`rateLimit\` with the same never-reached limit as \`express-rate-limit\`.`,
      metrics: [
        { path: '/metrics', expect: [promBundleExpectation()] },
        {
          path: SPAN_CHECK_PATH,
          expect: spanExpectations({ expressLayers: true, counted: true }),
        },
        { path: RATE_LIMIT_CHECK_PATH, expect: [hitsExpectation()] },
        { path: LOG_CHECK_PATH, expect: [logExpectation(), noLogDropsExpectation()] },
      ],
    },
  ]),
  {
    name: 'vigil-full-stack-100-unshaped',
    server: 'servers/vigil-full-stack-100-unshaped.mjs',
    description:
      "`vigil-full-stack-100` with `VIGIL_REQUEST_SHAPES=off`: Express's req and res get a new hidden class on every request, as without Vigil.",
    metrics: fullStackChecks({ shaped: false }),
  },
];

/**
 * The shapes check: with `shaped`, names learned for both requests and responses where @vigil/core
 * learns them on this Node.js (`V8_NEEDS_REQUEST_SHAPES`: the servers run on the harness's own);
 * else none.
 * @param {boolean} shaped
 * @returns {Check}
 */
function shapesCheck(shaped) {
  return {
    path: SHAPES_CHECK_PATH,
    expect:
      shaped && V8_NEEDS_REQUEST_SHAPES
        ? [/^request_shape_keys [1-9]/m, /^response_shape_keys [1-9]/m]
        : [/^request_shape_keys 0$/m, /^response_shape_keys 0$/m],
  };
}

/** All five HTTP metrics of @vigil/metrics, labelled by route template. */
function vigilMetricsExpectations() {
  return [
    /^http_requests_total\{method="GET",route="\/users\/:id",status_code="200"\} [1-9]/m,
    /^http_requests_total\{method="POST",route="\/orders",status_code="201"\} [1-9]/m,
    /^http_request_duration_seconds_count\{[^}]*route="\/hello"[^}]*\} [1-9]/m,
    /^http_request_size_bytes_count\{method="POST",route="\/orders"\} [1-9]/m,
    /^http_response_size_bytes_count\{method="GET",route="\/users\/:id"\} [1-9]/m,
    /^http_requests_in_flight\{method="GET"\} /m,
  ];
}

/** The three business metrics of servers/business-metrics-common.mjs. */
function businessMetricsExpectations() {
  return [
    /^bench_operations_total\{route="\/users\/:id",outcome="success"\} [1-9]/m,
    /^bench_operation_duration_seconds_count\{outcome="success"\} [1-9]/m,
    /^bench_visits_total\{kind="write"\} [1-9]/m,
  ];
}

/** express-prom-bundle's duration histogram, its path normalised by url-value-parser. */
function promBundleExpectation() {
  return /^http_request_duration_seconds_count\{[^}]*path="\/users\/#val"[^}]*\} [1-9]/m;
}

/** Vigil's decision counter counted allowed requests. */
function allowedExpectation() {
  return /^rate_limit_requests_total\{policy="api",result="allowed"\} [1-9]/m;
}

/** The limiter's count for the load's address, read after the window (servers/rate-limit-common.mjs). */
function hitsExpectation() {
  return /^rate_limit_hits\{key="[^"]+"\} [1-9]/m;
}

/**
 * The span check of a tracing scenario: mountSpanCheck (exported spans, the last exported batch) or,
 * with `counted`, mountSpanCountCheck (ended spans, the last 64) in servers/tracing-common.mjs.
 */
function spanExpectations({ expressLayers = false, counted = false } = {}) {
  const [total, last] = counted
    ? ['spans_ended_total', 'last_spans']
    : ['spans_exported_total', 'last_batch_spans'];
  return [
    new RegExp(`^${total} [1-9]`, 'm'),
    new RegExp(`^${last}\\{name="(GET|POST) \\/[^"]*",kind="1"\\} [1-9]`, 'm'),
    // The Express instrumentation's layer spans (kind 0, INTERNAL): it really patched Express.
    ...(expressLayers
      ? [new RegExp(`^${last}\\{name="request handler",kind="0"\\} [1-9]`, 'm')]
      : []),
  ];
}

/** @vigil/tracing's trace buffer holds traces whose root is a server span named by its route. */
function traceBufferExpectations() {
  return [/^traces_kept [1-9]/m, /^recent_traces\{root="(GET|POST) \/[^"]*"\} [1-9]/m];
}

/** Lines reached the log destination (servers/log-common.mjs). */
function logExpectation() {
  return /^log_lines_total [1-9]/m;
}

/** The log destination dropped nothing: every line given was written (see BENCH_LOG_MAX_LENGTH). */
function noLogDropsExpectation() {
  return /^log_lines_dropped_total 0$/m;
}

/**
 * The issues' targets. Each is judged on the summary rows of one run (lib/report.mjs) and always from
 * values paired within a round, so a round in which the machine was slow slows both sides: a ratio is
 * the median over rounds of one run's req/s divided by the other's in the same round (each is first
 * taken relative to that round's bare run, which cancels in the division); a CPU comparison is the
 * median over rounds of the difference of their server CPU µs/req in the same round. `judge(rows)`
 * returns `{ met, required, measured, perRound }`, the last three as printed, and `value`, the median.
 * A target is judged only when every scenario it `needs` ran.
 * @typedef {import('./lib/report.mjs').Rows} Rows
 * @typedef {object} Judgement
 * @property {boolean} met
 * @property {number} value  the median the target is judged on
 * @property {string} required  what is required, as printed
 * @property {string} measured  the median, as printed
 * @property {string[]} perRound  the per-round values the median is taken from, as printed
 * @typedef {{ name: string, needs: string[], judge: (rows: Rows) => Judgement }} Target
 * @type {Target[]}
 */
export const TARGETS = [
  // Issue 2: @vigil/metrics against bare Express and against the smallest hand-written middleware.
  ratioToBare('@vigil/metrics (all five HTTP metrics) vs bare Express', 'vigil-metrics', 0.95),
  cpuNoHigher(
    '@vigil/metrics server CPU per request vs prom-client-minimal',
    'vigil-metrics',
    ['prom-client-minimal'],
    { strict: false },
  ),
  // Issue 3: tracing, and tracing with the request logger.
  ratioToBare('@vigil/tracing at 10% sampling vs bare Express', 'vigil-tracing-10', 0.75),
  ratioToBare(
    '@vigil/tracing + request logger at 10% sampling vs bare Express',
    'vigil-tracing-logger-10',
    0.6,
  ),
  cpuNoHigher(
    '@vigil/tracing at 10% server CPU per request vs plain OpenTelemetry at 10%',
    'vigil-tracing-10',
    ['otel-plain-10'],
    { strict: true },
  ),
  // The hand-assembled equivalent of tracing + request logger is plain OpenTelemetry plus pino-http,
  // measured apart: its cost is the sum of the two costs over bare in the same round.
  cpuNoHigher(
    '@vigil/tracing + request logger at 10% server CPU per request vs otel-plain-10 + pino-http (costs over bare added)',
    'vigil-tracing-logger-10',
    ['otel-plain-10', 'pino-http'],
    { strict: true },
  ),
  // Issue 5.
  pairedRatio(
    '@vigil/business-metrics (three metrics per request) vs @vigil/metrics',
    'vigil-business-metrics',
    'vigil-metrics',
    0.98,
    { digits: 3 },
  ),
  // Issue 4.
  pairedRatio(
    '@vigil/rate-limit (memory) vs plain express-rate-limit',
    'vigil-rate-limit',
    'express-rate-limit',
    0.97,
  ),
  pairedRatio(
    '@vigil/rate-limit (Redis) vs plain express-rate-limit + rate-limit-redis',
    'vigil-rate-limit-redis',
    'express-rate-limit-redis',
    0.97,
  ),
  // Issue 14: the umbrella against bare Express and against the hand-assembled stack.
  ratioToBare('Vigil umbrella at 10% sampling vs bare Express', 'vigil-umbrella-10', 0.55),
  pairedRatio(
    'Vigil umbrella vs the hand-assembled stack, both at 10% sampling',
    'vigil-umbrella-10',
    'hand-assembled-10',
    2,
  ),
  // Issue 10: the full stack against bare Express and against its hand-assembled equivalent.
  ...[10, 100].flatMap((percent) => [
    ratioToBare(
      `Vigil full stack at ${percent}% sampling vs bare Express`,
      `vigil-full-stack-${percent}`,
      0.55,
    ),
    pairedRatio(
      `Vigil full stack vs the hand-assembled stack, both at ${percent}% sampling`,
      `vigil-full-stack-${percent}`,
      `hand-assembled-${percent}`,
      2,
    ),
  ]),
];

/** `1.23x` */
const times = (/** @type {number} */ x, digits = 2) => `${x.toFixed(digits)}x`;

/**
 * The summary row of `scenario`; `needs` makes sure it ran.
 * @param {Rows} rows
 * @param {string} scenario
 */
const row = (rows, scenario) => entry(rows, scenario, 'summary row');

/**
 * `scenario`'s req/s >= `min` x bare Express: the median of its per-round ratios to bare.
 * @param {string} name
 * @param {string} scenario
 * @param {number} min
 * @returns {Target}
 */
function ratioToBare(name, scenario, min) {
  return {
    name,
    needs: [scenario],
    judge: (rows) => {
      const { ratio, ratios } = row(rows, scenario);
      return {
        met: ratio >= min,
        value: ratio,
        required: `${scenario} >= ${times(min)} bare`,
        measured: times(ratio),
        perRound: ratios.map((x) => times(x)),
      };
    },
  };
}

/**
 * `scenario`'s req/s >= `min` x `other`'s, paired per round: in each round the scenario's ratio to
 * bare divided by the other's (bare cancels: it is the one run's req/s over the other's), then the
 * median over rounds.
 * @param {string} name
 * @param {string} scenario
 * @param {string} other
 * @param {number} min
 * @param {{ digits?: number }} [format]
 * @returns {Target}
 */
function pairedRatio(name, scenario, other, min, { digits = 2 } = {}) {
  return {
    name,
    needs: [scenario, other],
    judge: (rows) => {
      const others = row(rows, other).ratios;
      const perRound = row(rows, scenario).ratios.map((r, i) => r / (others[i] ?? NaN));
      const ratio = median(perRound);
      return {
        met: ratio >= min,
        value: ratio,
        required: `${scenario} >= ${times(min, digits)} ${other}`,
        measured: times(ratio, digits),
        perRound: perRound.map((x) => times(x, digits)),
      };
    },
  };
}

/**
 * `scenario`'s server CPU µs/req no higher than (`strict`: lower than) that of `others`, paired per
 * round: in each round the scenario's µs/req over bare minus the sum of the others' µs/req over bare,
 * then the median over rounds. With one other, bare cancels and it is the difference of the two runs'
 * µs/req; with two, it compares the scenario with the two costs added.
 * @param {string} name
 * @param {string} scenario
 * @param {string[]} others
 * @param {{ strict: boolean }} comparison  `strict`: lower, else no higher
 * @returns {Target}
 */
function cpuNoHigher(name, scenario, others, { strict }) {
  return {
    name,
    needs: [scenario, ...others],
    judge: (rows) => {
      const perRound = row(rows, scenario).extraCpuUsPerRound.map(
        (x, i) =>
          x -
          others.reduce((sum, other) => sum + (row(rows, other).extraCpuUsPerRound[i] ?? NaN), 0),
      );
      const difference = median(perRound);
      return {
        met: strict ? difference < 0 : difference <= 0,
        value: difference,
        required: `+µs/req over bare: ${scenario} ${strict ? '<' : '<='} ${others.join(' + ')}`,
        measured: `${signed(difference)} µs/req difference`,
        perRound: perRound.map((x) => signed(x)),
      };
    },
  };
}

/**
 * Figures reported without a target, after the targets, judged on the same summary rows.
 */
/** @type {{ name: string, needs: string[], report: (rows: Rows) => string }[]} */
export const REPORTS = [
  {
    name: 'Latency added by Redis (vigil-rate-limit-redis minus vigil-rate-limit, medians over rounds)',
    needs: ['vigil-rate-limit', 'vigil-rate-limit-redis'],
    report: (rows) => {
      const memory = row(rows, 'vigil-rate-limit');
      const redis = row(rows, 'vigil-rate-limit-redis');
      const redisCpu = redis.redisCpuUsPerReq;
      return (
        `p50 ${signed(redis.latencyP50Ms - memory.latencyP50Ms, 2)} ms ` +
        `(${memory.latencyP50Ms.toFixed(2)} -> ${redis.latencyP50Ms.toFixed(2)}), ` +
        `p99 ${signed(redis.latencyP99Ms - memory.latencyP99Ms, 2)} ms ` +
        `(${memory.latencyP99Ms.toFixed(2)} -> ${redis.latencyP99Ms.toFixed(2)})` +
        (redisCpu === undefined
          ? ''
          : `; redis-server's own CPU ${redisCpu.toFixed(1)} µs/req (not in the server CPU column)`)
      );
    },
  },
];
