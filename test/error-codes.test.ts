// The error-code contract of every package: each code in its `*_ERROR_CODES` table has a heading of
// its own in the package's README (where the messages point) and is exercised by a test, and every
// `ERR_VIGIL_...` code written in the package's source is in its table.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..');
const PACKAGES = join(ROOT, 'packages');

/** Every file under `dir` with one of `extensions`. */
function files(dir: string, extensions: readonly string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...files(path, extensions));
    else if (extensions.some((e) => entry.endsWith(e))) found.push(path);
  }
  return found;
}

interface Contract {
  pkg: string;
  table: string;
  codes: Record<string, string>;
}

/** The packages whose public API exports an error-code table, with the table. */
async function contracts(): Promise<Contract[]> {
  const found: Contract[] = [];
  for (const dir of readdirSync(PACKAGES)) {
    const manifest = JSON.parse(readFileSync(join(PACKAGES, dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
    };
    if (manifest.private === true) continue;
    const exports = (await import(manifest.name)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(exports)) {
      if (name.endsWith('_ERROR_CODES')) {
        found.push({ pkg: dir, table: name, codes: value as Record<string, string> });
      }
    }
  }
  return found;
}

let all: Contract[] = [];

describe('error codes', async () => {
  all = await contracts();

  it('should find the tables of the packages', () => {
    expect(all.map((c) => c.pkg).sort()).toEqual(
      [
        'alerts',
        'audit',
        'business-metrics',
        'dashboards',
        'health',
        'logging',
        'metrics',
        'rate-limit',
        'tracing',
        'vigil',
      ].sort(),
    );
  });

  it.each(all.map((c) => [c.pkg, c] as const))(
    'should document, test and list every code of %s',
    (pkg, { table, codes }) => {
      const readme = readFileSync(join(PACKAGES, pkg, 'README.md'), 'utf8');
      const headings = new Set(
        [...readme.matchAll(/^#{3,4} (ERR_VIGIL_\w+)\s*$/gm)].map((m) => m[1] as string),
      );
      // Tests of the package, and the repository's integration tests (which use every package).
      const tests = [
        ...files(join(PACKAGES, pkg, 'test'), ['.ts']),
        ...files(join(ROOT, 'test'), ['.ts']),
      ].map((f) => readFileSync(f, 'utf8'));
      // A test names a code in full, as `TABLE.KEY` (or `C.KEY` after `const C = TABLE`), or, in a
      // file that imports the table, by its key in quotes (a table of cases keyed by code).
      const tested = (key: string, code: string): boolean =>
        tests.some((t) => {
          if (t.includes(code)) return true;
          if (!t.includes(table)) return false;
          const aliases = [
            table,
            ...[...t.matchAll(new RegExp(`const (\\w+) = ${table}\\b`, 'g'))].map(
              (m) => m[1] as string,
            ),
          ];
          return aliases.some((a) => t.includes(`${a}.${key}`)) || t.includes(`'${key}'`);
        });
      const listed = new Set(Object.values(codes));
      const inSource = new Set(
        files(join(PACKAGES, pkg, 'src'), ['.ts']).flatMap((f) =>
          [...readFileSync(f, 'utf8').matchAll(/'(ERR_VIGIL_[A-Z0-9_]+)'/g)].map(
            (m) => m[1] as string,
          ),
        ),
      );
      const entries = Object.entries(codes);
      const undocumented = entries.filter(([, code]) => !headings.has(code)).map(([, c]) => c);
      const untested = entries.filter(([key, code]) => !tested(key, code)).map(([, c]) => c);
      // A code prefix (`codePrefix: 'ERR_VIGIL_AUDIT'`) is not a code.
      const unlisted = [...inSource].filter(
        (code) => !listed.has(code) && ![...listed].some((c) => c.startsWith(`${code}_`)),
      );
      console.log(
        `${pkg}: ${entries.length} codes, ${entries.length - undocumented.length} with a README heading, ${entries.length - untested.length} tested, ${unlisted.length} thrown but not listed`,
      );
      expect(undocumented, `codes without a "### CODE" heading in ${pkg}/README.md`).toEqual([]);
      expect(untested, `codes no test of ${pkg} (or test/) mentions`).toEqual([]);
      expect(unlisted, `codes in ${pkg}/src missing from ${table}`).toEqual([]);
      expect(entries.length).toBeGreaterThan(3);
    },
  );
});
