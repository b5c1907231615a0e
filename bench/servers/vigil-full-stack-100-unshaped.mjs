// Scenario `vigil-full-stack-100-unshaped`: vigil-full-stack-100 with VIGIL_REQUEST_SHAPES=off, so
// Express's req and res get a new hidden class on every request as without Vigil: what the stable
// shapes are worth to the full stack.
process.env.VIGIL_REQUEST_SHAPES = 'off';
const { serveVigilFullStack } = await import('./vigil-full-stack.mjs');
await serveVigilFullStack(1);
