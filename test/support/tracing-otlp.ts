// A minimal OTLP/HTTP trace receiver (protobuf and JSON encodings) and a child-process wrapper, for the
// tracing suites.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { decodeTraceRequest } from './otlp-protobuf';

/** An OTLP AnyValue as the JSON encoding spells it (64-bit integers may arrive as strings). */
interface OtlpAnyValue {
  stringValue?: string;
  intValue?: number | string;
  doubleValue?: number;
  boolValue?: boolean;
}

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpKeyValue[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
  status?: { code?: number; message?: string };
}

/** The body of `POST /v1/traces` (opentelemetry-proto ExportTraceServiceRequest, JSON encoding). */
export interface ExportTraceServiceRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

/** OTLP SpanKind numbers. */
export const SPAN_KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3 } as const;
/** OTLP StatusCode numbers. */
export const STATUS_CODE = { UNSET: 0, OK: 1, ERROR: 2 } as const;

export type Scalar = string | number | boolean;

/** One span as received, flattened with its resource and scope. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number | undefined;
  attributes: Record<string, Scalar>;
  events: { name: string; attributes: Record<string, Scalar> }[];
  status: { code: number; message: string | undefined };
  resource: Record<string, Scalar>;
  scope: string | undefined;
  /** `Date.now()` when the batch carrying it arrived. */
  receivedAt: number;
}

function scalar(value: OtlpAnyValue | undefined): Scalar {
  if (value === undefined) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  return JSON.stringify(value);
}

function attributeMap(list: OtlpKeyValue[] | undefined): Record<string, Scalar> {
  const out: Record<string, Scalar> = {};
  for (const kv of list ?? []) out[kv.key] = scalar(kv.value);
  return out;
}

/** Every span of an export request, flattened. */
export function flattenSpans(body: ExportTraceServiceRequest, receivedAt: number): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const resource = attributeMap(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId || undefined,
          name: s.name,
          kind: s.kind,
          attributes: attributeMap(s.attributes),
          events: (s.events ?? []).map((e) => ({
            name: e.name,
            attributes: attributeMap(e.attributes),
          })),
          status: { code: s.status?.code ?? STATUS_CODE.UNSET, message: s.status?.message },
          resource,
          scope: ss.scope?.name,
          receivedAt,
        });
      }
    }
  }
  return out;
}

/** The two OTLP/HTTP encodings, as their content types name them. */
export type OtlpEncoding = 'protobuf' | 'json';

/** What every receiver started on it has collected; survives a receiver's restart on the same port. */
export class OtlpStore {
  /** Decoded request bodies, in arrival order. */
  readonly requests: {
    body: ExportTraceServiceRequest;
    encoding: OtlpEncoding;
    receivedAt: number;
  }[] = [];
  readonly spans: ReceivedSpan[] = [];
  /** Requests the receiver refused (wrong path, method, content type, or a body that does not decode). */
  readonly problems: string[] = [];

  serverSpans(): ReceivedSpan[] {
    return this.spans.filter((s) => s.kind === SPAN_KIND.SERVER);
  }
}

export interface OtlpReceiver {
  readonly port: number;
  readonly url: string;
  /** Stops listening and drops every connection (the exporter's keep-alive ones included). */
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1 (`port`, or a free one) for `POST /v1/traces` with a protobuf
 * (`application/x-protobuf`) or JSON (`application/json`) body, answers 200 with an empty response of
 * the same encoding, and stores the decoded body in `store`.
 */
export async function startOtlpReceiver(store: OtlpStore, port = 0): Promise<OtlpReceiver> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const type = req.headers['content-type'] ?? '';
      const encoding: OtlpEncoding | undefined = type.startsWith('application/x-protobuf')
        ? 'protobuf'
        : type.startsWith('application/json')
          ? 'json'
          : undefined;
      if (req.method !== 'POST' || req.url !== '/v1/traces' || encoding === undefined) {
        store.problems.push(`${req.method} ${req.url} content-type ${type}`);
        res.writeHead(404).end();
        return;
      }
      let body: ExportTraceServiceRequest;
      try {
        const raw = Buffer.concat(chunks);
        body =
          encoding === 'protobuf'
            ? decodeTraceRequest(raw)
            : (JSON.parse(raw.toString('utf8')) as ExportTraceServiceRequest);
      } catch (err) {
        store.problems.push(`${encoding} body does not decode: ${String(err)}`);
        res.writeHead(400).end();
        return;
      }
      const receivedAt = Date.now();
      store.requests.push({ body, encoding, receivedAt });
      store.spans.push(...flattenSpans(body, receivedAt));
      // An empty ExportTraceServiceResponse: zero bytes in protobuf, {} in JSON.
      if (encoding === 'protobuf')
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      else res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port: actual,
    url: `http://127.0.0.1:${actual}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/**
 * Variables a developer's shell might carry that would change what a suite exporting to this receiver
 * checks: blanked in the environment of its fixture processes.
 */
export const OTEL_VARIABLES_CLEARED: Readonly<Record<string, string>> = {
  OTEL_TRACES_EXPORTER: '',
  OTEL_TRACES_SAMPLER: '',
  OTEL_PROPAGATORS: '',
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '',
  OTEL_EXPORTER_OTLP_PROTOCOL: '',
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: '',
  OTEL_SDK_DISABLED: '',
  NODE_OPTIONS: '',
};

/** One JSON line a fixture printed on stdout. */
export interface FixtureEvent {
  event: string;
  [field: string]: unknown;
}

/** A Node child process speaking the fixtures' protocol: one JSON object per stdout line. */
export class FixtureProcess {
  readonly events: FixtureEvent[] = [];
  stderr = '';
  exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiters = new Set<() => void>();

  constructor(args: string[], options: { cwd: string; env: Record<string, string> }) {
    this.child = spawn(process.execPath, args, {
      cwd: options.cwd,
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as FixtureEvent);
      } catch {
        this.stderr += `(stdout) ${line}\n`;
      }
      this.notify();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (chunk: string) => (this.stderr += chunk));
    this.child.on('error', (err) => (this.stderr += `spawn error: ${err.message}\n`));
    this.child.on('exit', (code, signal) => {
      this.exited = { code, signal };
      this.notify();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  /** The first `event` line, within `timeoutMs`; rejects early if the process exits first. */
  waitFor(event: string, timeoutMs: number): Promise<FixtureEvent> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const check = (): void => {
        const found = this.events.find((e) => e.event === event);
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.exited !== undefined) {
          done();
          reject(
            new Error(
              `process exited ${JSON.stringify(this.exited)} before "${event}"; stderr:\n${this.stderr}`,
            ),
          );
        }
      };
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      timer = setTimeout(() => {
        done();
        reject(new Error(`no "${event}" line in ${timeoutMs} ms; stderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Resolves with the exit once the process has exited, or undefined after `timeoutMs`. */
  waitForExit(timeoutMs: number): Promise<FixtureProcess['exited']> {
    if (this.exited !== undefined) return Promise.resolve(this.exited);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs);
      this.child.once('exit', () => {
        clearTimeout(timer);
        resolve(this.exited);
      });
    });
  }

  /** Sends `signal` to this process only (no-op once it has exited). */
  signal(signal: NodeJS.Signals): void {
    if (this.exited === undefined) this.child.kill(signal);
  }

  /** SIGKILL unless already gone, and wait for the exit (bounded). Safe to call twice. */
  async kill(): Promise<void> {
    this.signal('SIGKILL');
    await this.waitForExit(5_000);
  }
}
