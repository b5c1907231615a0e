// Test projects: one per package under packages/ (fast, in-process), found from the packages' own
// package.json files, and the cross-package integration suite.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = (path: string) => fileURLToPath(new URL(path, import.meta.url));

interface Workspace {
  /** The folder under packages/. */
  dir: string;
  /** The package name, e.g. `@vigil/metrics`. */
  name: string;
}

/** Every package under packages/ with its own src/index.ts (private helpers such as test-utils too). */
const workspaces: Workspace[] = readdirSync(root('./packages'))
  .filter((dir) => existsSync(root(`./packages/${dir}/src/index.ts`)))
  .sort()
  .map((dir) => ({
    dir,
    name: (
      JSON.parse(readFileSync(root(`./packages/${dir}/package.json`), 'utf8')) as {
        name: string;
      }
    ).name,
  }));

/** Settings some packages' tests need beyond the defaults. */
const SETTINGS: Record<string, { testTimeout?: number }> = {
  // Redis outages are waited out for real.
  'rate-limit': { testTimeout: 120_000 },
};

export default defineConfig({
  // Vite's transformer (Oxc) does not lower standard decorators, which Node 20 cannot run; it lowers
  // legacy ones. The reference app's decorated service is built by tsc with standard decorators, and
  // @vigil/business-metrics' decorators accept both forms (its own tests compile both with tsc).
  oxc: { decorator: { legacy: true } },
  resolve: {
    // In-process tests run the TypeScript sources; tests that spawn processes or pack tarballs use dist/.
    alias: Object.fromEntries(
      workspaces.map((w) => [w.name, root(`./packages/${w.dir}/src/index.ts`)]),
    ),
  },
  test: {
    // Tests start real servers on ephemeral ports; two workers fit a 2-core machine.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      ...workspaces.map((w) => ({
        extends: true as const,
        test: {
          name: w.dir,
          include: [`packages/${w.dir}/test/**/*.test.ts`],
          ...SETTINGS[w.dir],
        },
      })),
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          // Heap figures (the cardinality test) are measured after gc(), not with garbage included.
          execArgv: ['--expose-gc'],
        },
      },
    ],
  },
});
