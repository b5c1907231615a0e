// Scenario `vigil-record`: bare Express with one middleware that begins @vigil/core's request record,
// as every Vigil middleware does first: the shared lifecycle alone, which also gives Express's req and
// res the properties it adds to them before it changes their prototype (stable hidden classes).
import express from 'express';
import { beginRequest } from '@vigil/core';
import { mountRoutes, serve } from './common.mjs';
import { mountShapesCheck } from './shapes-common.mjs';

const app = express();
app.use((req, res, next) => {
  beginRequest(req, res);
  next();
});
mountRoutes(app);
mountShapesCheck(app);
serve(app);
