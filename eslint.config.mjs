// Lint configuration: type-aware typescript-eslint over every package, example, test and benchmark.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/dist/**',
      '**/node_modules/**',
      'coverage/**',
      'bench/results/**',
      '**/*.cjs',
      // Plain JavaScript outside the benchmark (fixtures, scripts, this file) is not type-checked.
      '**/*.mjs',
      '!bench/**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The benchmark is ES modules in JavaScript (and a declaration file), type-checked through JSDoc
    // by its own project, bench/tsconfig.json (checkJs), which also gives the type-aware rules their
    // types.
    files: ['bench/**/*.mjs', 'bench/**/*.ts'],
    languageOptions: {
      sourceType: 'module',
      ecmaVersion: 2022,
      parserOptions: { project: ['./bench/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    // TypeScript checks these files, so the core rules it makes redundant (no-undef among them: it
    // knows Node's globals from @types/node) are off, as typescript-eslint turns them off for .ts.
    files: ['bench/**/*.mjs'],
    rules: tseslint.configs.eslintRecommended.rules,
  },
  {
    files: ['**/test/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'bench/**/*.mjs'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
    },
  },
);
