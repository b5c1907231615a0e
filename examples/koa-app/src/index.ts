// The Koa reference app: the media platform's gateway and catalog, with Vigil through vigil.koa().
export { DEMO_USER, MAX_SLOW_MS, startKoaApp } from './app';
export type { KoaApp, KoaAppOptions } from './app';
export { ANALYTICS_REPORTS, VIDEO_FORMATS, createBusinessMetrics } from './business';
export type { BusinessMetrics } from './business';
export { koaAppAlerts } from './alerts';
