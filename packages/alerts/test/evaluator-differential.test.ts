// The embedded evaluator against a real Prometheus 2.42: identical pseudo-random series (counters with
// resets, gauges with NaN and gaps, histograms, odd bucket sets, the recording-rule inputs of the
// example rules) are backfilled into Prometheus with promtool and loaded into a MemoryStorage; every
// expression of the corpus and of examples/stack is evaluated by both at many timestamps.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findBinary, prometheusVersion, versionAtLeast, seededRandom } from '@vigil/test-utils';
import {
  ALERTS_ERROR_CODES,
  compileExpr,
  type CompiledExpr,
  evaluate,
  MemoryStorage,
  type Value,
} from '@vigil/alerts';
import type { LabelSet } from '../src/model';

const prometheus = findBinary('prometheus', 'prometheus');
const promtool = findBinary('promtool', 'prometheus');
const version = prometheus === undefined ? undefined : prometheusVersion(prometheus);
const runnable = prometheus !== undefined && promtool !== undefined;

const ROOT = join(__dirname, '..', '..', '..');
const STEP = 15_000;
const HOURS = 3;
const TOLERANCE = 1e-9;

interface Series {
  labels: Record<string, string>;
  points: [number, number][];
}

interface Shape {
  /** Fraction of the window before the series starts. */
  start?: number;
  /** Fraction of the window after which it ends. */
  end?: number;
  /** A gap: [from, to) as fractions of the window. */
  gap?: [number, number];
}

/** Sample times of one series: the 15s grid with whole-second jitter, cut by its shape. */
function times(rand: () => number, t0: number, shape: Shape = {}): number[] {
  const n = (HOURS * 3600_000) / STEP;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const f = i / n;
    if (f < (shape.start ?? 0) || f > (shape.end ?? 1)) continue;
    if (shape.gap !== undefined && f >= shape.gap[0] && f < shape.gap[1]) continue;
    out.push(t0 + i * STEP + (Math.floor(rand() * 5) - 2) * 1000);
  }
  return out;
}

function counter(rand: () => number, ts: number[], rate: number, resetP: number): number[] {
  let v = Math.floor(rand() * 1000);
  return ts.map(() => {
    if (rand() < resetP) v = Math.floor(rand() * 3);
    else v += Math.floor(rate * 15 * (0.2 + rand()));
    return v;
  });
}

function gauge(rand: () => number, ts: number[], level: number, spread: number): number[] {
  let v = level;
  return ts.map(() => {
    v += (rand() - 0.5) * spread;
    return Math.round(v * 1000) / 1000;
  });
}

const BUCKETS = [
  '0.005',
  '0.01',
  '0.025',
  '0.05',
  '0.075',
  '0.1',
  '0.25',
  '0.5',
  '0.75',
  '1',
  '2.5',
  '5',
  '7.5',
  '10',
  '+Inf',
];

/** Every series of the test. `names` are recording-rule inputs the example expressions read. */
function generate(t0: number, jobs: readonly string[], inputs: readonly LabelSet[]): Series[] {
  const rand = seededRandom(42);
  const out: Series[] = [];
  const add = (labels: Record<string, string>, ts: number[], vs: number[]): void => {
    out.push({ labels, points: ts.map((t, i) => [t, vs[i] as number]) });
  };
  for (const job of jobs) {
    for (const route of [
      '/api/videos',
      '/api/videos/:id',
      '/api/auth/login',
      '/api/other',
      '/health',
    ]) {
      for (const status of ['200', '500', '503', 'aborted']) {
        for (const instance of ['a', 'b']) {
          const shape: Shape = status === '503' && instance === 'b' ? { start: 0.4 } : {};
          const ts = times(rand, t0, shape);
          const rate = status === '200' ? 5 : 0.2;
          add(
            { __name__: 'http_requests_total', job, route, status_code: status, instance },
            ts,
            counter(rand, ts, rate * rand(), 0.002),
          );
        }
      }
    }
    for (const route of ['/api/videos', '/api/auth/login', '/other']) {
      const ts = times(rand, t0);
      const counts = BUCKETS.map(() => 0);
      const rows: number[][] = [];
      let sum = 0;
      for (let i = 0; i < ts.length; i++) {
        if (rand() < 0.003) counts.fill(0);
        const n = Math.floor(rand() * 20);
        for (let k = 0; k < n; k++) {
          const latency = -Math.log(1 - rand()) * 0.4;
          sum += latency;
          BUCKETS.forEach((le, b) => {
            if (le === '+Inf' || latency <= Number(le)) counts[b] = (counts[b] as number) + 1;
          });
        }
        rows.push([...counts]);
      }
      BUCKETS.forEach((le, b) => {
        add(
          { __name__: 'http_request_duration_seconds_bucket', job, route, le, instance: 'a' },
          ts,
          rows.map((r) => r[b] as number),
        );
      });
      add(
        { __name__: 'http_request_duration_seconds_count', job, route, instance: 'a' },
        ts,
        rows.map((r) => r[BUCKETS.length - 1] as number),
      );
      add(
        { __name__: 'http_request_duration_seconds_sum', job, route, instance: 'a' },
        ts,
        rows.map((_, i) => Math.round(((sum * (i + 1)) / rows.length) * 1000) / 1000),
      );
    }
    for (const policy of ['login', 'api']) {
      for (const result of ['allowed', 'limited', 'store_error']) {
        const ts = times(rand, t0, result === 'store_error' ? { gap: [0.3, 0.5] } : {});
        add(
          { __name__: 'rate_limit_requests_total', job, policy, result },
          ts,
          counter(rand, ts, result === 'allowed' ? 3 : 0.3, 0.001),
        );
      }
    }
    for (const outcome of ['failure', 'success']) {
      const ts = times(rand, t0, outcome === 'failure' ? { start: 0.35 } : {});
      add({ __name__: 'video_uploads_total', job, outcome }, ts, counter(rand, ts, 0.5, 0.001));
    }
    for (const instance of ['a', 'b']) {
      const ts = times(rand, t0, instance === 'b' ? { gap: [0.6, 0.65] } : {});
      add(
        { __name__: 'nodejs_eventloop_lag_p99_seconds', job, instance },
        ts,
        gauge(rand, ts, 0.1, 0.02).map((v) => Math.abs(v)),
      );
      const up = ts.map(() => (rand() < 0.1 ? 0 : 1));
      add({ __name__: 'up', job, instance }, ts, up);
    }
  }
  for (const a of ['x', 'y', 'z']) {
    for (const b of ['1', '2']) {
      const shape: Shape =
        a === 'y' && b === '2'
          ? { gap: [0.5, 0.56] }
          : a === 'z' && b === '1'
            ? { start: 0.33 }
            : a === 'z' && b === '2'
              ? { end: 0.88 }
              : {};
      const ts = times(rand, t0, shape);
      const vs = gauge(rand, ts, a === 'y' ? -1 : 1, 0.6);
      if (a === 'x' && b === '1') for (let i = 50; i < vs.length; i += 97) vs[i] = NaN;
      add({ __name__: 'g', a, b }, ts, vs);
    }
  }
  // Infinities: the Inf-aware means of avg and avg_over_time, and Inf arithmetic.
  for (const a of ['p', 'q', 'r']) {
    const ts = times(rand, t0);
    const vs = gauge(rand, ts, 5, 2).map((v, i) =>
      a === 'p' && i % 40 < 6 ? Infinity : a === 'q' && i % 55 < 4 ? -Infinity : v,
    );
    add({ __name__: 'ginf', a }, ts, vs);
  }
  for (const a of ['x', 'y']) {
    for (const b of ['1', '2']) {
      const ts = times(rand, t0, a === 'y' && b === '1' ? { gap: [0.2, 0.3] } : {});
      add({ __name__: 'c', a, b }, ts, counter(rand, ts, a === 'x' ? 2 : 0.3, 0.02));
    }
  }
  const odd: [string, string[]][] = [
    ['nonmono', ['0.1', '0.5', '1', '+Inf']],
    ['dup', ['0.5', '1', '1.0', '+Inf']],
    ['noinf', ['0.1', '1']],
    ['zero', ['0.1', '+Inf']],
    ['neg', ['-1', '0', '1', '+Inf']],
    ['single', ['+Inf']],
    ['badle', ['abc', '0.5', '+Inf']],
    ['inf2', ['1', '+inf', 'Inf']],
  ];
  for (const [k, les] of odd) {
    const ts = times(rand, t0);
    const base = ts.map((_, i) => (k === 'zero' ? 0 : i * 2 + Math.floor(rand() * 3)));
    les.forEach((le, j) => {
      const vs = base.map((v, i) => {
        if (k === 'zero') return 0;
        const cumulative = v * (j + 1);
        return k === 'nonmono' && j === 1 && i % 3 === 0 ? Math.floor(cumulative / 3) : cumulative;
      });
      add({ __name__: 'hb_bucket', k, le }, ts, vs);
    });
  }
  for (const labels of inputs) {
    const ts = times(rand, t0);
    const name = labels.__name__ ?? '';
    const level = /ratio|burn/.test(name) ? 0.01 : 50;
    add(
      { ...labels },
      ts,
      gauge(rand, ts, level, level / 5).map((v) => Math.abs(v)),
    );
  }
  return out;
}

/** Every `expr` of the example rule files and their promtool tests. */
function exampleExpressions(): string[] {
  const files: string[] = [];
  for (const dir of ['examples/stack', 'examples/stack/demo']) {
    for (const f of readdirSync(join(ROOT, dir))) {
      if (f.endsWith('.yml')) files.push(join(ROOT, dir, f));
    }
  }
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'expr' && typeof v === 'string') out.add(v);
        else walk(v);
      }
    }
  };
  for (const f of files) walk(parse(readFileSync(f, 'utf8')));
  return [...out];
}

const corpus = readFileSync(join(__dirname, 'evaluator', 'corpus.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('//'));

const escape = (v: string): string =>
  v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const formatValue = (v: number): string =>
  Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);

function openMetrics(series: readonly Series[]): string {
  const lines: string[] = [];
  for (const s of series) {
    const { __name__: name, ...rest } = s.labels;
    const labels = Object.entries(rest)
      .map(([k, v]) => `${k}="${escape(v)}"`)
      .join(',');
    for (const [t, v] of s.points) {
      lines.push(`${name}{${labels}} ${formatValue(v)} ${(t / 1000).toFixed(3)}`);
    }
  }
  lines.push('# EOF', '');
  return lines.join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

type PromResult =
  | { status: 'success'; data: { resultType: string; result: unknown } }
  | { status: 'error'; error: string };

/** A value as both sides are compared: vectors keyed by their label set. */
type Comparable =
  | { kind: 'vector'; samples: Map<string, number> }
  | { kind: 'scalar'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'error'; message: string };

/** A value as Prometheus's API writes it (Go's FormatFloat: `+Inf`, `-Inf`, `NaN`). */
const parseValue = (v: string): number =>
  v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number.parseFloat(v);

const keyOf = (labels: LabelSet): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

function fromPrometheus(body: PromResult): Comparable {
  if (body.status === 'error') return { kind: 'error', message: body.error };
  const { resultType, result } = body.data;
  if (resultType === 'vector') {
    const samples = new Map<string, number>();
    for (const s of result as { metric: LabelSet; value: [number, string] }[]) {
      samples.set(keyOf(s.metric), parseValue(s.value[1]));
    }
    return { kind: 'vector', samples };
  }
  const [, v] = result as [number, string];
  if (resultType === 'scalar') return { kind: 'scalar', value: parseValue(v) };
  return { kind: 'string', value: v };
}

function fromVigil(v: Value | { readonly error: string }): Comparable {
  if ('error' in v) return { kind: 'error', message: v.error };
  if (v.type === 'vector') {
    const samples = new Map<string, number>();
    for (const s of v.samples) samples.set(keyOf(s.labels), s.value);
    return { kind: 'vector', samples };
  }
  return v.type === 'scalar'
    ? { kind: 'scalar', value: v.value }
    : { kind: 'string', value: v.value };
}

const close = (a: number, b: number): boolean =>
  (Number.isNaN(a) && Number.isNaN(b)) ||
  a === b ||
  Math.abs(a - b) <= TOLERANCE * Math.max(Math.abs(a), Math.abs(b));

/** Undefined when both agree, else what differs. */
function difference(prom: Comparable, mine: Comparable): string | undefined {
  if (prom.kind !== mine.kind) {
    return `Prometheus gave a ${prom.kind}${prom.kind === 'error' ? ` (${prom.message})` : ''}, the evaluator a ${mine.kind}${mine.kind === 'error' ? ` (${mine.message})` : ''}`;
  }
  if (prom.kind === 'error' || mine.kind === 'error') return undefined;
  if (prom.kind === 'vector' && mine.kind === 'vector') {
    for (const [k, v] of prom.samples) {
      const m = mine.samples.get(k);
      if (m === undefined) return `missing ${k} (Prometheus ${v})`;
      if (!close(v, m)) return `${k}: Prometheus ${v}, evaluator ${m}`;
    }
    for (const k of mine.samples.keys()) {
      if (!prom.samples.has(k)) return `extra ${k} (${mine.samples.get(k)})`;
    }
    return undefined;
  }
  if (prom.kind === 'scalar' && mine.kind === 'scalar') {
    return close(prom.value, mine.value)
      ? undefined
      : `Prometheus ${prom.value}, evaluator ${mine.value}`;
  }
  if (prom.kind === 'string' && mine.kind === 'string') {
    return prom.value === mine.value
      ? undefined
      : `Prometheus ${prom.value}, evaluator ${mine.value}`;
  }
  return 'different kinds';
}

describe.skipIf(!runnable)('evaluator against Prometheus 2.42 (differential)', () => {
  let dir = '';
  let child: ChildProcess | undefined;
  let url = '';
  let store: MemoryStorage;
  let stamps: number[] = [];
  let expressions: { text: string; source: 'example' | 'corpus' }[] = [];
  let t0 = 0;

  beforeAll(async () => {
    t0 = Math.floor(Date.now() / 3600_000) * 3600_000 - (HOURS + 1) * 3600_000;
    const examples = exampleExpressions();
    expressions = [
      ...examples.map((text) => ({ text, source: 'example' as const })),
      ...corpus
        .filter((c) => !examples.includes(c))
        .map((text) => ({ text, source: 'corpus' as const })),
    ];
    // Recording-rule inputs and other series the examples read: one series per label set of their
    // equality matchers, for names the generator does not produce.
    const generated = new Set([
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'http_request_duration_seconds_count',
      'http_request_duration_seconds_sum',
      'rate_limit_requests_total',
      'video_uploads_total',
      'nodejs_eventloop_lag_p99_seconds',
      'up',
    ]);
    const jobs = new Set<string>(['gateway']);
    const inputs = new Map<string, LabelSet>();
    for (const { text } of expressions) {
      let compiled: CompiledExpr;
      try {
        compiled = compileExpr(text);
      } catch {
        continue;
      }
      for (const matchers of compiled.selectors) {
        const labels: Record<string, string> = {};
        for (const m of matchers) if (m.type === '=') labels[m.name] = m.value;
        if (labels.job !== undefined) jobs.add(labels.job);
        const name = labels.__name__;
        if (name === undefined || generated.has(name) || !name.includes(':')) continue;
        inputs.set(JSON.stringify(Object.entries(labels).sort()), labels);
      }
    }
    const series = generate(t0, [...jobs], [...inputs.values()]);
    store = new MemoryStorage();
    for (const s of series) for (const [t, v] of s.points) store.append(s.labels, t, v);

    dir = mkdtempSync(join(tmpdir(), 'vigil-evaluator-'));
    writeFileSync(join(dir, 'series.om'), openMetrics(series));
    const backfill = spawnSync(
      promtool as string,
      ['tsdb', 'create-blocks-from', 'openmetrics', join(dir, 'series.om'), join(dir, 'data')],
      { encoding: 'utf8' },
    );
    if (backfill.status !== 0) throw new Error(`promtool backfill failed: ${backfill.stderr}`);
    writeFileSync(join(dir, 'prometheus.yml'), 'global: {}\n');
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(
      prometheus as string,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        '--storage.tsdb.retention.time=10y',
        `--web.listen-address=127.0.0.1:${port}`,
        '--log.level=warn',
      ],
      { stdio: 'ignore' },
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const res = await fetch(`${url}/-/ready`);
        if (res.status === 200) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error('Prometheus did not become ready in 30s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const end = t0 + HOURS * 3600_000;
    const pick = seededRandom(7);
    stamps = [
      t0 + 30_000,
      t0 + 150_000,
      t0 + 600_500,
      t0 + 45 * STEP,
      t0 + 300 * STEP,
      t0 + 600 * STEP,
      ...Array.from({ length: 11 }, () => t0 + 900_000 + Math.floor(pick() * (end - t0 - 900_000))),
      end + 60_000,
      end + 299_000,
      end + 330_000,
    ];
  }, 60_000);

  afterAll(async () => {
    const running = child;
    if (running !== undefined && running.exitCode === null && running.signalCode === null) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    }
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  }, 15_000);

  it('should evaluate every expression as Prometheus 2.42 does at every timestamp', async () => {
    // The evaluator follows 2.x semantics (Prometheus 3 changed lookback and range boundaries).
    expect(versionAtLeast(version, '2.42') && !versionAtLeast(version, '3.0')).toBe(true);
    const disagreements: string[] = [];
    const unsupported: string[] = [];
    let comparisons = 0;
    let compared = 0;
    let bothErrors = 0;
    let samplesCompared = 0;
    let emptyResults = 0;
    const errorExamples = new Map<string, [string, string]>();
    const jobs: (() => Promise<void>)[] = [];
    for (const { text } of expressions) {
      let compiled: CompiledExpr;
      try {
        compiled = compileExpr(text);
      } catch (e) {
        const err = e as { code?: string; message: string };
        if (err.code === ALERTS_ERROR_CODES.PROMQL_NOT_EVALUATED) {
          unsupported.push(text);
          continue;
        }
        throw new Error(`${text}: ${err.message}`);
      }
      compared++;
      for (const t of stamps) {
        jobs.push(async () => {
          const params = new URLSearchParams({ query: text, time: (t / 1000).toFixed(3) });
          const res = await fetch(`${url}/api/v1/query?${params.toString()}`);
          const prom = fromPrometheus((await res.json()) as PromResult);
          const mine = fromVigil(evaluate(compiled, t, store));
          comparisons++;
          if (prom.kind === 'error' && mine.kind === 'error') {
            bothErrors++;
            errorExamples.set(text, [prom.message, mine.message]);
          }
          if (prom.kind === 'vector') {
            samplesCompared += prom.samples.size;
            if (prom.samples.size === 0) emptyResults++;
          } else if (prom.kind !== 'error') samplesCompared++;
          const diff = difference(prom, mine);
          if (diff !== undefined) disagreements.push(`${text} @ ${t - t0}ms: ${diff}`);
        });
      }
    }
    const workers = Array.from({ length: 4 }, async () => {
      for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) await job();
    });
    await Promise.all(workers);
    const examples = expressions.filter((e) => e.source === 'example').length;
    console.log(
      `differential: ${compared} expressions compared (${examples} from examples/stack, ${expressions.length - examples} hand-written, ${unsupported.length} not evaluated), ${stamps.length} timestamps, ${comparisons} comparisons (${samplesCompared} samples, ${emptyResults} empty vectors, ${bothErrors} errors on both sides), ${disagreements.length} disagreements`,
    );
    for (const [text, [prom, mine]] of errorExamples) {
      console.log(`error on both sides: ${text}\n  Prometheus: ${prom}\n  evaluator:  ${mine}`);
    }
    if (unsupported.length > 0) console.log(`not evaluated: ${unsupported.join(' | ')}`);
    const firstByExpression = new Map<string, string>();
    for (const d of disagreements) {
      const text = d.slice(0, d.indexOf(' @ '));
      if (!firstByExpression.has(text)) firstByExpression.set(text, d);
    }
    expect([...firstByExpression.values()]).toEqual([]);
    expect(compared).toBeGreaterThanOrEqual(200);
  }, 120_000);
});
