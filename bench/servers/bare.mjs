// Scenario `bare`: Express 5 with the route mix and nothing else; the baseline of every ratio.
import express from 'express';
import { mountRoutes, serve } from './common.mjs';

const app = express();
mountRoutes(app);
serve(app);
