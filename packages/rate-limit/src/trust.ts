// Proxy-trust checks: misconfigurations that let clients choose their own rate-limit key, reported
// once through the limiter's logger (express-rate-limit's checks would go to the console).
import type { IncomingHttpHeaders } from 'node:http';
import type { ProblemReporter } from '@vigil/core';

export class TrustChecks {
  private permissiveChecked = false;
  private forwardedReported = false;

  constructor(private readonly problems: ProblemReporter) {}

  /** Express: `trust proxy` true, or X-Forwarded-For sent to an app that trusts no proxy. */
  express(app: { get?(name: string): unknown } | undefined, headers: IncomingHttpHeaders): void {
    if (this.forwardedReported && this.permissiveChecked) return;
    const trust = typeof app?.get === 'function' ? app.get('trust proxy') : undefined;
    if (!this.permissiveChecked) {
      this.permissiveChecked = true;
      if (trust === true) {
        this.problems.report(
          'permissive-trust-proxy',
          "Express 'trust proxy' is true: the left-most X-Forwarded-For entry, which any client can set, becomes req.ip, so clients can choose their rate-limit bucket. Set it to the number of proxies or their addresses.",
        );
      }
    }
    if (!this.forwardedReported && headers['x-forwarded-for'] !== undefined && trust === false) {
      this.forwardedReported = true;
      this.problems.report(
        'unexpected-x-forwarded-for',
        "A request carried X-Forwarded-For but Express 'trust proxy' is false: behind a proxy every client shares the proxy's bucket. If a proxy is in front of the app, set 'trust proxy' to it.",
      );
    }
  }

  /** Koa: `app.proxy` with no `maxIpsCount`, or X-Forwarded-For sent to an app without `proxy`. */
  koa(
    app: { proxy?: unknown; maxIpsCount?: unknown } | undefined,
    headers: IncomingHttpHeaders,
  ): void {
    if (this.forwardedReported && this.permissiveChecked) return;
    if (!this.permissiveChecked) {
      this.permissiveChecked = true;
      if (app?.proxy === true && !(typeof app.maxIpsCount === 'number' && app.maxIpsCount > 0)) {
        this.problems.report(
          'permissive-proxy',
          'Koa app.proxy is true with maxIpsCount 0: the left-most X-Forwarded-For entry, which any client can set, becomes ctx.ip, so clients can choose their rate-limit bucket. Set app.maxIpsCount to the number of proxies.',
        );
      }
    }
    if (
      !this.forwardedReported &&
      headers['x-forwarded-for'] !== undefined &&
      app?.proxy !== true
    ) {
      this.forwardedReported = true;
      this.problems.report(
        'unexpected-x-forwarded-for',
        "A request carried X-Forwarded-For but Koa app.proxy is false: behind a proxy every client shares the proxy's bucket. If a proxy is in front of the app, set app.proxy and app.maxIpsCount.",
      );
    }
  }
}
