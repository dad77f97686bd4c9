import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', '.stack/', 'playwright-report/', 'test-results/', 'contracts/pacts/', 'reports/', '.stryker-tmp*/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': ['error'],
    },
  },
  {
    files: ['stack/**/*.ts', 'ops/**/*.ts', 'wiremock/**/*.ts', 'bench/**/*.ts', 'db/cli.ts', 'tests/**/*.ts', 'contracts/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
