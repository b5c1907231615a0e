// The error-code contract of every package (checkErrorCodes() in @vigil/test-utils): each code in its
// `*_ERROR_CODES` table has a heading of its own in the package's README (where the messages point)
// and is exercised by a test, and every `ERR_VIGIL_...` code written in the package's source is in
// its table.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ErrorCodeTable, checkErrorCodes, errorCodeTables } from '@vigil/test-utils';

const ROOT = join(__dirname, '..');
const PACKAGES = join(ROOT, 'packages');

let all: ErrorCodeTable[] = [];

describe('error codes', async () => {
  all = await errorCodeTables(PACKAGES);

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
    (pkg, contract) => {
      // Tests of the package, and the repository's integration tests (which use every package).
      const { count, undocumented, untested, unlisted } = checkErrorCodes(
        join(PACKAGES, pkg),
        contract,
        [join(PACKAGES, pkg, 'test'), join(ROOT, 'test')],
      );
      console.log(
        `${pkg}: ${count} codes, ${count - undocumented.length} with a README heading, ${count - untested.length} tested, ${unlisted.length} thrown but not listed`,
      );
      expect(undocumented, `codes without a "### CODE" heading in ${pkg}/README.md`).toEqual([]);
      expect(untested, `codes no test of ${pkg} (or test/) mentions`).toEqual([]);
      expect(unlisted, `codes in ${pkg}/src missing from ${contract.table}`).toEqual([]);
      expect(count).toBeGreaterThan(3);
    },
  );
});
