// Test projects: one per package (fast, in-process) and the cross-package integration suite.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) =>
  fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  // Vite's transformer (Oxc) does not lower standard decorators, which Node 20 cannot run; it lowers
  // legacy ones. The reference app's decorated service is built by tsc with standard decorators, and
  // @vigil/business-metrics' decorators accept both forms (its own tests compile both with tsc).
  oxc: { decorator: { legacy: true } },
  resolve: {
    // In-process tests run the TypeScript sources; tests that spawn processes or pack tarballs use dist/.
    alias: {
      '@vigil/core': src('core'),
      '@vigil/metrics': src('metrics'),
      '@vigil/tracing': src('tracing'),
      '@vigil/audit': src('audit'),
      '@vigil/rate-limit': src('rate-limit'),
      '@vigil/business-metrics': src('business-metrics'),
    },
  },
  test: {
    // Tests start real servers on ephemeral ports; two workers fit a 2-core machine.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'core', include: ['packages/core/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'metrics', include: ['packages/metrics/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'tracing', include: ['packages/tracing/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'audit', include: ['packages/audit/test/**/*.test.ts'] } },
      {
        extends: true,
        test: {
          name: 'business-metrics',
          include: ['packages/business-metrics/test/**/*.test.ts'],
        },
      },
      {
        extends: true,
        test: {
          name: 'rate-limit',
          include: ['packages/rate-limit/test/**/*.test.ts'],
          testTimeout: 120_000,
        },
      },
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
