// Default histogram buckets shared by the HTTP and business metrics.

/** OpenTelemetry's recommended buckets for http.server.request.duration, in seconds. */
export const DEFAULT_SECONDS_BUCKETS: readonly number[] = Object.freeze([
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
]);

/** 64 B to 16 MiB by powers of 4. */
export const DEFAULT_BYTES_BUCKETS: readonly number[] = Object.freeze([
  64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
]);
