// Scenario `vigil-umbrella-10`: every Vigil capability through `vigil(app)`, tracing sampling 10 % of
// requests (see vigil-umbrella.mjs).
import { serveVigilUmbrella } from './vigil-umbrella.mjs';

await serveVigilUmbrella(0.1);
