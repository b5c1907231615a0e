// The scenarios and the targets. A new scenario is one server file plus one entry here.

/** The scenario every ratio is taken against; it runs in every round whatever BENCH_SCENARIOS says. */
export const BASELINE = 'bare';

/**
 * Each scenario is an Express 5 server in `servers/` that mounts its middleware, then the shared route
 * mix (`servers/common.mjs`), then calls `serve(app)`. `metrics`, when given, is checked after the
 * measured window: the scrape must answer 200 and match every pattern, so a middleware that silently
 * recorded nothing cannot look fast.
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
];

/** The targets, judged on the summary rows (medians over rounds). */
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
];

function signed(n) {
  return `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;
}
