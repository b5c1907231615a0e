// POST /test: the endpoint of the W3C Trace Context test harness (test/ in the w3c/trace-context
// repository). Each element of the body's array is POSTed to its `url` with its `arguments`, in order,
// from inside this request, so the context this service received is propagated.
import express, { type Express } from 'express';

/** Mounts POST /test on the app. */
export function traceContextTestRoute(app: Express): void {
  app.post('/test', express.json({ limit: '1mb' }), async (req, res) => {
    const steps = Array.isArray(req.body) ? (req.body as unknown[]) : [];
    for (const step of steps) {
      const { url, arguments: args } = (step ?? {}) as { url?: unknown; arguments?: unknown };
      if (typeof url !== 'string') continue;
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(args ?? []),
        signal: AbortSignal.timeout(5_000),
      }).catch(() => undefined);
    }
    res.json({ ok: true });
  });
}
