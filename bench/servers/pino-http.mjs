// Scenario `pino-http`: plain pino-http with its default options, logging every request to /dev/null
// through pino.destination() (bounded as every bench log destination is, see log-common.mjs), the
// same kind of destination as `vigil-tracing-logger-10`. No tracing.
import express from 'express';
import { pinoHttp } from 'pino-http';
import { mountRoutes, serve } from './common.mjs';
import { plainDevNullDestination } from './log-common.mjs';

const app = express();
// Default options; the destination goes as pino-http's second argument (a SonicBoom is not a Node
// stream, so pino-http would take it for an options object if passed first).
app.use(pinoHttp({}, plainDevNullDestination()));
mountRoutes(app);
serve(app);
