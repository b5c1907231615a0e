// Type tests: the fixture compiles with tsc, and without its @ts-expect-error directives it does not,
// with an error on exactly each line a directive guarded.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, buildPackage, errorLines, tsc } from './support/tsc';

const DIRECTIVE = '// @ts-expect-error';
const source = readFileSync(join(FIXTURES, 'types/labels.ts'), 'utf8');
const lines = source.split('\n');
/** 1-based lines that follow a directive: the ones that must not compile. */
const guarded = lines.flatMap((line, i) => (line.trim().startsWith(DIRECTIVE) ? [i + 2] : []));

let tmp: string;

beforeAll(() => {
  buildPackage();
  tmp = mkdtempSync(join(tmpdir(), 'vigil-business-types-'));
  // Directives become empty comments, so every line keeps its number.
  const stripped = lines.map((line) => (line.trim().startsWith(DIRECTIVE) ? '//' : line));
  writeFileSync(join(tmp, 'labels.ts'), stripped.join('\n'));
  writeFileSync(join(tmp, 'tsconfig.json'), readFileSync(join(FIXTURES, 'types/tsconfig.json')));
  symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'), 'dir');
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('type tests', () => {
  it('should guard a meaningful number of wrong usages', () => {
    console.log(`type fixture: ${guarded.length} @ts-expect-error lines`);
    expect(guarded.length).toBeGreaterThanOrEqual(20);
  });

  it(
    'should compile the fixture: right usages pass and every wrong one is an error',
    { timeout: 120_000 },
    () => {
      const result = tsc(join(FIXTURES, 'types'));
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    },
  );

  it(
    'should fail on exactly the guarded lines once the directives are removed',
    { timeout: 120_000 },
    () => {
      const result = tsc(tmp);
      expect(result.status).not.toBe(0);
      const failing = errorLines(result.output, 'labels.ts');
      console.log(`without the directives: ${failing.length} lines fail to compile`);
      expect(failing).toEqual(guarded);
    },
  );
});
