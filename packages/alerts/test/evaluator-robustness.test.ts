// What the embedded evaluator survives: hostile data (NaN, infinities, staleness markers, duplicate
// timestamps, empty and odd label values) never makes evaluate() throw, and mutated expression text
// never makes compileExpr() throw anything but a coded error. The tests report their figures.
import { seededRandom } from '@vigil/test-utils';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ALERTS_ERROR_CODES,
  compileExpr,
  type CompiledExpr,
  evaluate,
  MemoryStorage,
} from '@vigil/alerts';

const corpus = readFileSync(join(__dirname, 'evaluator', 'corpus.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '' && !line.startsWith('//'));

const NAMES = ['g', 'c', 'up', 'hb_bucket', 'http_requests_total', 'ginf', 'nothing'];
const VALUES = [0, -0, 1, -1, NaN, Infinity, -Infinity, 1e308, -1e308, 5e-324, 0.1, 42];
const LABEL_VALUES = ['x', 'y', '1', '2', '', '+Inf', '0.5', 'abc', 'ünïcödé', 'a"b\\c', '\n'];

function hostileStore(rand: () => number): MemoryStorage {
  const store = new MemoryStorage();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  for (let n = 0; n < 60; n++) {
    const labels: Record<string, string> = { __name__: pick(NAMES) };
    for (const l of ['a', 'b', 'le', 'job', 'instance'])
      if (rand() < 0.6) labels[l] = pick(LABEL_VALUES);
    let t = Math.floor(rand() * 600_000);
    for (let k = 0; k < 30; k++) {
      const r = rand();
      if (r < 0.05) store.appendStale(labels, t);
      else store.append(labels, t, r < 0.5 ? pick(VALUES) : r * 1000);
      // Repeated timestamps (replacements) and irregular steps.
      t += rand() < 0.1 ? 0 : Math.floor(rand() * 40_000);
    }
  }
  return store;
}

describe('evaluator robustness', () => {
  it('should never throw from evaluate() on hostile data', () => {
    const rand = seededRandom(1);
    const compiled: CompiledExpr[] = corpus.map((e) => compileExpr(e));
    let evaluations = 0;
    let errors = 0;
    let thrown = 0;
    const internal: string[] = [];
    for (let round = 0; round < 8; round++) {
      const store = hostileStore(rand);
      for (const c of compiled) {
        for (const t of [0, 123_456, 600_000, 1_200_000]) {
          evaluations++;
          try {
            const v = evaluate(c, t, store);
            if ('error' in v) {
              errors++;
              // An exception other than an evaluation error is a bug caught by evaluate().
              if (v.error.startsWith('evaluation failed')) internal.push(`${c.text}: ${v.error}`);
            } else expect(['vector', 'scalar', 'string']).toContain(v.type);
          } catch {
            thrown++;
          }
        }
      }
    }
    console.log(
      `robustness: ${evaluations} evaluations of ${compiled.length} expressions over 8 hostile stores: ${errors} evaluation errors returned (${internal.length} internal), ${thrown} throws`,
    );
    expect(thrown).toBe(0);
    expect(internal).toEqual([]);
  });

  it('should throw only coded errors from compileExpr() on mutated expressions', () => {
    const rand = seededRandom(2);
    const codes = new Set<string>(Object.values(ALERTS_ERROR_CODES));
    const tokens = [
      '(',
      ')',
      '[5m]',
      '{',
      '}',
      ',',
      '"',
      ' by ',
      ' offset 1m',
      '@',
      ':',
      '-',
      '^',
      'bool ',
      '=~',
      '`',
    ];
    let tried = 0;
    let accepted = 0;
    let coded = 0;
    const other: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const base = corpus[Math.floor(rand() * corpus.length)] as string;
      const at = Math.floor(rand() * (base.length + 1));
      const cut = rand() < 0.5 ? Math.floor(rand() * 4) : 0;
      const text =
        base.slice(0, at) + tokens[Math.floor(rand() * tokens.length)] + base.slice(at + cut);
      tried++;
      try {
        compileExpr(text);
        accepted++;
      } catch (e) {
        const code = (e as { code?: unknown }).code;
        if (typeof code === 'string' && codes.has(code)) coded++;
        else other.push(`${text}: ${String(e)}`);
      }
    }
    console.log(
      `robustness: ${tried} mutated expressions: ${accepted} compiled, ${coded} coded errors, ${other.length} other throws`,
    );
    expect(other).toEqual([]);
  });

  it('should survive a store returning unsorted and out-of-range samples', () => {
    const labels = { __name__: 'x' };
    const odd = {
      select: () => [
        {
          labels,
          key: 'x',
          length: 3,
          timestamps: new Float64Array([3000, 1000, 2000]),
          values: new Float64Array([1, NaN, 3]),
          stale: undefined,
        },
      ],
    };
    for (const e of ['x', 'rate(x[5m])', 'sum_over_time(x[1m])', 'histogram_quantile(0.5, x)']) {
      expect(() => evaluate(compileExpr(e), 2500, odd)).not.toThrow();
    }
  });
});
