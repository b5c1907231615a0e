// `npm start`: runs the Koa app until SIGINT or SIGTERM.
// Tracing starts first, before Koa and the app's modules load (OTEL_* variables apply).
import './service-name';
import 'vigil/register';
import { startKoaApp } from './app';

startKoaApp().then(
  (app) => {
    console.log(`gateway  ${app.url}   (try ${app.url}/api/videos/1)`);
    console.log(`catalog  ${app.catalogUrl}`);
    console.log(`metrics  ${app.url}/metrics   summary ${app.url}/metrics/summary`);
    console.log(`live     ${app.url}/_vigil   (overview: ${app.url}/observability)`);
    console.log(`health   ${app.url}/health/live  /health/ready  /health/startup`);
    console.log(`alerts   ${app.url}/alerts`);
    // SIGTERM / SIGINT: readiness answers 503, in-flight requests finish, then spans and audit events
    // are flushed (Vigil's shutdown hub), and the signal ends the process.
  },
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
