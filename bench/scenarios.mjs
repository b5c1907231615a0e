// The scenarios and the issue's targets. A new scenario is one server file plus one entry here.
import { RATE_LIMIT_CHECK_PATH } from './servers/rate-limit-common.mjs';
import { SPAN_CHECK_PATH } from './servers/tracing-common.mjs';

/** The scenario every ratio is taken against; it runs in every round whatever BENCH_SCENARIOS says. */
export const BASELINE = 'bare';

/**
 * Each scenario is an Express 5 server in `servers/` that mounts its middleware, then the shared route
 * mix (`servers/common.mjs`), then calls `serve(app)`. `metrics`, when given (one check or a list),
 * is checked after the measured window: each path must answer 200 and match every pattern, so a
 * middleware that silently recorded nothing cannot look fast. `redis: true` runs the scenario only
 * where redis-server is installed, against the harness's own (its URL in the server's `REDIS_URL`).
 */
export const SCENARIOS = [
  {
    name: 'bare',
    server: 'servers/bare.mjs',
    description: 'Express 5, the route mix, no metrics.',
  },
  {
    name: 'vigil-metrics',
    server: 'servers/vigil-metrics.mjs',
    description:
      '`expressMetrics({ collectDefaultMetrics: false })` (requests counter, duration, request size and response size histograms, in-flight gauge) and `GET /metrics` via `expressMetricsHandler()`.',
    metrics: {
      path: '/metrics',
      expect: [
        /^http_requests_total\{method="GET",route="\/users\/:id",status_code="200"\} [1-9]/m,
        /^http_requests_total\{method="POST",route="\/orders",status_code="201"\} [1-9]/m,
        /^http_request_duration_seconds_count\{[^}]*route="\/hello"[^}]*\} [1-9]/m,
        /^http_request_size_bytes_count\{method="POST",route="\/orders"\} [1-9]/m,
        /^http_response_size_bytes_count\{method="GET",route="\/users\/:id"\} [1-9]/m,
        /^http_requests_in_flight\{method="GET"\} /m,
      ],
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
        /^bench_operations_total\{route="\/users\/:id",outcome="success"\} [1-9]/m,
        /^bench_operation_duration_seconds_count\{outcome="success"\} [1-9]/m,
        /^bench_visits_total\{kind="write"\} [1-9]/m,
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
      expect: [/^http_request_duration_seconds_count\{[^}]*path="\/users\/#val"[^}]*\} [1-9]/m],
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
];

/** Vigil's decision counter counted allowed requests. */
function allowedExpectation() {
  return /^rate_limit_requests_total\{policy="api",result="allowed"\} [1-9]/m;
}

/** The limiter's count for the load's address, read after the window (servers/rate-limit-common.mjs). */
function hitsExpectation() {
  return /^rate_limit_hits\{key="[^"]+"\} [1-9]/m;
}

/** The span check of a tracing scenario (see mountSpanCheck in servers/tracing-common.mjs). */
function spanExpectations({ expressLayers = false } = {}) {
  return [
    /^spans_exported_total [1-9]/m,
    /^last_batch_spans\{name="(GET|POST) \/[^"]*",kind="1"\} [1-9]/m,
    // The Express instrumentation's layer spans (kind 0, INTERNAL): it really patched Express.
    ...(expressLayers ? [/^last_batch_spans\{name="request handler",kind="0"\} [1-9]/m] : []),
  ];
}

/** The issue's targets, judged on the summary rows (medians over rounds). */
export const TARGETS = [
  {
    name: '@vigil/metrics (all five HTTP metrics) >= 0.95x bare Express req/s',
    needs: ['vigil-metrics'],
    judge: (rows) => {
      const ratio = rows['vigil-metrics'].ratio;
      return { met: ratio >= 0.95, detail: `${ratio.toFixed(2)}x` };
    },
  },
  {
    name: '@vigil/metrics server CPU per request <= prom-client-minimal',
    needs: ['vigil-metrics', 'prom-client-minimal'],
    judge: (rows) => {
      const vigil = rows['vigil-metrics'].extraCpuUs;
      const minimal = rows['prom-client-minimal'].extraCpuUs;
      return {
        met: vigil <= minimal,
        detail: `${signed(vigil)} µs vs ${signed(minimal)} µs over bare`,
      };
    },
  },
  {
    name: '@vigil/tracing at 10% sampling >= 0.75x bare Express req/s',
    needs: ['vigil-tracing-10'],
    judge: (rows) => {
      const ratio = rows['vigil-tracing-10'].ratio;
      return { met: ratio >= 0.75, detail: `${ratio.toFixed(2)}x` };
    },
  },
  {
    name: '@vigil/tracing + request logger at 10% sampling >= 0.60x bare Express req/s',
    needs: ['vigil-tracing-logger-10'],
    judge: (rows) => {
      const ratio = rows['vigil-tracing-logger-10'].ratio;
      return { met: ratio >= 0.6, detail: `${ratio.toFixed(2)}x` };
    },
  },
  {
    name: '@vigil/tracing at 10% uses less server CPU per request than plain OpenTelemetry at 10%',
    needs: ['vigil-tracing-10', 'otel-plain-10'],
    judge: (rows) => {
      const vigil = rows['vigil-tracing-10'].extraCpuUs;
      const plain = rows['otel-plain-10'].extraCpuUs;
      return {
        met: vigil < plain,
        detail: `${signed(vigil)} µs vs ${signed(plain)} µs over bare`,
      };
    },
  },
  {
    // The hand-assembled equivalent of tracing + request logger is plain OpenTelemetry plus pino-http.
    // Its cost is taken as the sum of the two measured costs: in each round, otel-plain-10's +µs over
    // bare plus pino-http's +µs over bare, then the median over rounds. That is compared with the
    // median of vigil-tracing-logger-10's +µs over bare.
    name: '@vigil/tracing + request logger at 10% uses less server CPU per request than otel-plain-10 + pino-http (costs added)',
    needs: ['vigil-tracing-logger-10', 'otel-plain-10', 'pino-http'],
    judge: (rows) => {
      const vigil = rows['vigil-tracing-logger-10'].extraCpuUs;
      const plain = rows['otel-plain-10'].extraCpuUsPerRound;
      const pinoHttp = rows['pino-http'].extraCpuUsPerRound;
      const sum = median(plain.map((x, i) => x + pinoHttp[i]));
      return {
        met: vigil < sum,
        detail: `${signed(vigil)} µs vs ${signed(sum)} µs over bare`,
      };
    },
  },
  {
    name: '@vigil/business-metrics (three metrics per request) costs < 2% of @vigil/metrics req/s',
    needs: ['vigil-business-metrics', 'vigil-metrics'],
    judge: (rows) => {
      // Paired per round like the ratios to bare, then the median over rounds.
      const perRound = rows['vigil-business-metrics'].ratios.map(
        (r, i) => r / rows['vigil-metrics'].ratios[i],
      );
      const ratio = median(perRound);
      return {
        met: ratio >= 0.98,
        detail: `${ratio.toFixed(3)}x vigil-metrics; per round ${perRound.map((x) => x.toFixed(3)).join(' / ')}`,
      };
    },
  },
  rateLimitTarget(
    '@vigil/rate-limit (memory) >= 0.97x plain express-rate-limit req/s',
    'vigil-rate-limit',
    'express-rate-limit',
  ),
  rateLimitTarget(
    '@vigil/rate-limit (Redis) >= 0.97x plain express-rate-limit + rate-limit-redis req/s',
    'vigil-rate-limit-redis',
    'express-rate-limit-redis',
  ),
];

/**
 * `vigil` >= 0.97x `plain` in req/s. Paired like the ratios to bare: in each round, vigil's req/s
 * divided by plain's (both runs' ratios to that round's bare, divided), then the median over rounds.
 */
function rateLimitTarget(name, vigil, plain) {
  return {
    name,
    needs: [vigil, plain],
    judge: (rows) => {
      const perRound = rows[vigil].ratios.map((r, i) => r / rows[plain].ratios[i]);
      const ratio = median(perRound);
      return {
        met: ratio >= 0.97,
        detail: `${ratio.toFixed(2)}x; per round ${perRound.map((x) => x.toFixed(2)).join(' / ')}`,
      };
    },
  };
}

/**
 * Figures reported without a target, after the targets, judged on the same summary rows.
 */
export const REPORTS = [
  {
    name: 'Latency added by Redis (vigil-rate-limit-redis minus vigil-rate-limit, medians over rounds)',
    needs: ['vigil-rate-limit', 'vigil-rate-limit-redis'],
    report: (rows) => {
      const memory = rows['vigil-rate-limit'];
      const redis = rows['vigil-rate-limit-redis'];
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

function signed(n, digits = 1) {
  return `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
