// Integration: a third-party OpenTelemetry instrumentation (ioredis) given to startTracing() next to
// Vigil's own, against a real redis-server: Redis commands made inside a traced Express request are
// child spans of its server span, and Vigil's http client spans are still made.
import { createRequire } from 'node:module';
import type * as NodeHttp from 'node:http';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import {
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-node';
import type { Redis as RedisClient } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type RequestContext,
  type Tracing,
  expressTracing,
  getRequestContext,
  startTracing,
} from '@vigil/tracing';
import { RedisServer, findRedisServer } from '@vigil/test-utils';
import { type RunningServer, listen, send, pollFor } from '@vigil/test-utils';

const binary = findRedisServer();

interface Reply {
  value: string | null;
  downstream: number;
  context: RequestContext | undefined;
}

describe.skipIf(binary === undefined)('startTracing({ instrumentations }) with ioredis', () => {
  const memory = new InMemorySpanExporter();
  const servers: RunningServer[] = [];
  let redis: RedisServer;
  let client: RedisClient;
  let tracing: Tracing;
  let app: RunningServer;
  let downstreamHeaders: NodeHttp.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    redis = await RedisServer.start(binary as string);
    tracing = startTracing({
      serviceName: 'redis-app',
      exporter: 'none',
      registry: false,
      spanProcessors: [new SimpleSpanProcessor(memory)],
      instrumentations: [new IORedisInstrumentation()],
    });
    // Required after startTracing(), as an app's modules are: instrumentations patch a module when it
    // is required.
    const load = createRequire(__filename);
    const http = load('node:http') as typeof NodeHttp;
    const { Redis } = load('ioredis') as typeof import('ioredis');
    const express = load('express') as typeof import('express');
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });

    const downstream = await listen((req, res) => {
      downstreamHeaders.push(req.headers);
      res.end('ok');
    });
    servers.push(downstream);
    const web = express();
    web.use(expressTracing());
    web.get('/items/:id', async (req, res) => {
      await client.set(`item:${req.params.id}`, `value-${req.params.id}`);
      const value = await client.get(`item:${req.params.id}`);
      const status = await new Promise<number>((resolve, reject) => {
        http
          .get(`${downstream.url}/stock/${req.params.id}`, (down) => {
            down.resume();
            down.on('end', () => resolve(down.statusCode ?? 0));
          })
          .on('error', reject);
      });
      res.json({ value, downstream: status, context: getRequestContext() } satisfies Reply);
    });
    app = await listen(web);
    servers.push(app);
  });

  afterAll(async () => {
    client?.disconnect();
    await Promise.all(servers.map((s) => s.close()));
    await tracing?.shutdown();
    await redis?.kill();
  });

  it('should make the Redis commands child spans of the server span, beside the http client span', async () => {
    downstreamHeaders = [];
    const res = await send(app.port, { path: '/items/7' });
    const reply = JSON.parse(res.body) as Reply;
    const traceId = reply.context!.traceId!;
    const spansOf = () =>
      memory.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    const spans =
      (await pollFor(() => (spansOf().length >= 4 ? spansOf() : undefined), 5_000, 10)) ??
      spansOf();
    const server = spans.find((s) => s.kind === SpanKind.SERVER);
    const redisSpans = spans.filter((s) => s.instrumentationScope.name.includes('ioredis'));
    const httpClient = spans.filter(
      (s) =>
        s.kind === SpanKind.CLIENT && s.instrumentationScope.name.includes('instrumentation-http'),
    );
    const describe = (s: ReadableSpan) =>
      `${SpanKind[s.kind]} "${s.name}" (${s.instrumentationScope.name}) parent ${s.parentSpanContext?.spanId ?? '-'}`;
    console.log(
      `[instrumentations] GET /items/7 -> ${res.status}, value ${reply.value}; trace ${traceId}: ${spans.length} spans: ` +
        `${spans.map(describe).join('; ')}; server span ${server?.spanContext().spanId}`,
    );

    expect(res.status).toBe(200);
    expect(reply.value).toBe('value-7');
    expect(reply.downstream).toBe(200);
    expect(server?.name).toBe('GET /items/:id');
    const serverId = server!.spanContext().spanId;
    expect(redisSpans.map((s) => s.name)).toEqual(['set', 'get']);
    for (const span of redisSpans) {
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.parentSpanContext?.spanId).toBe(serverId);
      expect(span.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(span.resource.attributes['service.name']).toBe('redis-app');
    }
    expect(httpClient).toHaveLength(1);
    expect(httpClient[0]!.parentSpanContext?.spanId).toBe(serverId);
    // The downstream call carried the client span as its parent.
    expect(downstreamHeaders).toHaveLength(1);
    expect(downstreamHeaders[0]!.traceparent).toBe(
      `00-${traceId}-${httpClient[0]!.spanContext().spanId}-03`, // sampled, and a trace started here: random id (Level 2)
    );
  });

  it('should make no Redis span outside a request (the instrumentation needs a parent span)', async () => {
    const before = memory.getFinishedSpans().length;
    await client.ping();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(memory.getFinishedSpans().slice(before)).toEqual([]);
  });
});
