// The error-code contract of a package: each code in its `*_ERROR_CODES` table has a heading of its
// own in the package's README (where the messages point) and is exercised by a test, and every
// `ERR_VIGIL_...` code written in the package's source is in its table.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file under `dir` with one of `extensions`. */
export function filesUnder(dir: string, extensions: readonly string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...filesUnder(path, extensions));
    else if (extensions.some((e) => entry.endsWith(e))) found.push(path);
  }
  return found;
}

/** One package's error-code table: the export `table` (`AUDIT_ERROR_CODES`, ...), key to code. */
export interface ErrorCodeTable {
  /** The package's folder name under packages/. */
  pkg: string;
  table: string;
  codes: Record<string, string>;
}

/** The error-code tables among a package's exports: every export named `*_ERROR_CODES`. */
export function errorCodeTablesOf(pkg: string, exports: Record<string, unknown>): ErrorCodeTable[] {
  return Object.entries(exports)
    .filter(([name]) => name.endsWith('_ERROR_CODES'))
    .map(([table, codes]) => ({ pkg, table, codes: codes as Record<string, string> }));
}

/** The tables of every public package under `packagesDir`, each imported by its package name. */
export async function errorCodeTables(packagesDir: string): Promise<ErrorCodeTable[]> {
  const found: ErrorCodeTable[] = [];
  for (const dir of readdirSync(packagesDir)) {
    const manifest = JSON.parse(readFileSync(join(packagesDir, dir, 'package.json'), 'utf8')) as {
      name: string;
      private?: boolean;
    };
    if (manifest.private === true) continue;
    const exports = (await import(manifest.name)) as Record<string, unknown>;
    found.push(...errorCodeTablesOf(dir, exports));
  }
  return found;
}

/** Where a table breaks the contract; every list is empty when it holds. */
export interface ErrorCodeFindings {
  /** How many codes the table lists. */
  count: number;
  /** Codes without a `### CODE` (or `####`) heading in the package's README. */
  undocumented: string[];
  /** Codes no test names. */
  untested: string[];
  /** Codes written in the package's `src` that the table does not list. */
  unlisted: string[];
}

/**
 * Checks `table` against the package in `packageDir`: its README's headings, the codes its `src`
 * writes, and the tests under `testDirs` (the package's `test` folder unless given).
 */
export function checkErrorCodes(
  packageDir: string,
  { table, codes }: ErrorCodeTable,
  testDirs: readonly string[] = [join(packageDir, 'test')],
): ErrorCodeFindings {
  const readme = readFileSync(join(packageDir, 'README.md'), 'utf8');
  const headings = new Set(
    [...readme.matchAll(/^#{3,4} (ERR_VIGIL_\w+)\s*$/gm)].map((m) => m[1] as string),
  );
  const tests = testDirs
    .flatMap((dir) => filesUnder(dir, ['.ts']))
    .map((f) => readFileSync(f, 'utf8'));
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
    filesUnder(join(packageDir, 'src'), ['.ts']).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/'(ERR_VIGIL_[A-Z0-9_]+)'/g)].map((m) => m[1] as string),
    ),
  );
  const entries = Object.entries(codes);
  return {
    count: entries.length,
    undocumented: entries.filter(([, code]) => !headings.has(code)).map(([, c]) => c),
    untested: entries.filter(([key, code]) => !tested(key, code)).map(([, c]) => c),
    // A code prefix (`codePrefix: 'ERR_VIGIL_AUDIT'`) is not a code.
    unlisted: [...inSource].filter(
      (code) => !listed.has(code) && ![...listed].some((c) => c.startsWith(`${code}_`)),
    ),
  };
}
