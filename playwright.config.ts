import { defineConfig } from '@playwright/test';
import { stackEnv } from './tests/support/stack-env.js';

/**
 * The README section 3 scenarios as API tests against a running stack (`npm run stack:up`), found
 * through `.stack/env`. No browser is involved: every test uses Playwright's `request` fixture.
 */
export default defineConfig({
  testDir: 'tests/scenarios',
  testMatch: '**/*.spec.ts',
  fullyParallel: false,
  workers: 2,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: [['list'], ['html', { outputFolder: 'playwright-report', open: 'never' }]],
  outputDir: 'test-results',
  use: {
    baseURL: stackEnv().ORDER_API_URL,
    extraHTTPHeaders: { accept: 'application/json' },
    // An API trace records every request and response of a failed scenario, for the report.
    trace: 'retain-on-failure',
  },
});
