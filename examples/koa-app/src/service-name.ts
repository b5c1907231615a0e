// Imported first by main.ts: the gateway's service name for tracing, unless OTEL_SERVICE_NAME says another.
process.env.OTEL_SERVICE_NAME ??= 'gateway';
