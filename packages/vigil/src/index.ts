// Public API of vigil: one call wires every Vigil capability into an Express or Koa app.
// The capabilities' dependencies are checked before their packages load.
import './preflight';

export { vigil } from './vigil';
export type { VigilFunction } from './vigil';
export { vigilExpress } from './express';
export { vigilKoa } from './koa';
export { vigilPrimary } from './primary';
export { VIGIL_ERROR_CODES } from './errors';
// For the line after the routes of an Express app (see the README): errors on the request's span.
export { expressTracingErrors } from '@vigil/tracing';
export { DEPENDENCIES, ensureInstalled } from './dependencies';
export type { Dependency } from './dependencies';
export type {
  Vigil,
  VigilAlertsOptions,
  VigilBusinessOptions,
  VigilMetricsOptions,
  VigilOperationalOptions,
  VigilOptions,
  VigilPrimary,
  VigilPrimaryOptions,
  VigilTracingOptions,
} from './types';
