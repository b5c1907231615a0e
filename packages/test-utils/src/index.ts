// Test helpers shared by every package's tests and the integration suite (private, never published):
// real servers on ephemeral ports and raw HTTP clients, the framework majors and an app builder for
// each, the binaries tests start (redis-server, prometheus, promtool) with skip-or-fail, readers of
// what a registry or a logger recorded, and the error-code contract check.
export * from './binaries';
export * from './frameworks';
export * from './http';
export * from './servers';
export * from './redis';
export * from './prometheus';
export * from './samples';
export * from './log-capture';
export * from './random';
export * from './error-codes';
