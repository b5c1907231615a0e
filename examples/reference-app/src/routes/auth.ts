// POST /api/auth/login: the demo account, every attempt audited and counted against the request.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Router } from 'express';
import { type AuditLogger, audit } from '@vigil/audit';
import { metrics } from '@vigil/business-metrics';
import type { BusinessMetrics } from '../business';

/** The demo account of POST /api/auth/login (see the README). */
export const DEMO_USER = { username: 'demo', password: 'vigil-demo' } as const;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Mounts the login route on the API router. */
export function authRoutes(api: Router, auditLogger: AuditLogger, business: BusinessMetrics): void {
  const { login_attempts_total } = business.metrics;
  api.post('/auth/login', (req, res) => {
    const body = (req.body ?? {}) as { username?: unknown; password?: unknown };
    const username =
      typeof body.username === 'string' && /^[\w.@-]{1,64}$/.test(body.username)
        ? body.username
        : undefined;
    const ok =
      username === DEMO_USER.username &&
      typeof body.password === 'string' &&
      sameSecret(body.password, DEMO_USER.password);
    // Request-scoped recording: the attempt's result, counted against this request.
    metrics(req).inc(login_attempts_total, { result: ok ? 'success' : 'failure' });
    // One audit event per attempt, with the request's ids; the password is never part of it.
    audit(req, auditLogger).record({
      type: 'auth.login',
      outcome: ok ? 'success' : 'failure',
      action: 'login',
      ...(username !== undefined && { actor: username }),
      ...(!ok && { reason: username === undefined ? 'malformed username' : 'invalid credentials' }),
    });
    if (!ok) {
      res.status(401).json({ error: 'invalid_credentials' });
      return;
    }
    res.json({ token: randomBytes(24).toString('base64url') });
  });
}
