/**
 * Jest runs the TypeScript sources as ESM (the project is `"type": "module"`): SWC strips the types,
 * Node's VM modules run them. Three projects, by kind:
 *
 * - `unit`: pure rules and modules on their own; no DynamoDB Local, no Java (`npm run test:unit`).
 * - `integration`: through real HTTP and WebSocket servers against DynamoDB Local, which the
 *   project's global setup starts once per run (also the fuzz, property and browser tests).
 * - `infra`: the synthesized CDK template, its checks and the pipeline.
 *
 * `npm run test:jest` runs all three; `--selectProjects <name>` one.
 * @type {import('jest').Config}
 */
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'typescript' }, target: 'es2024' }, module: { type: 'es6' } },
    ],
  },
  setupFiles: ['<rootDir>/test/support/env.ts'],
  testTimeout: 30000,
};

export default {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: [
        '<rootDir>/test/integration/**/*.test.ts',
        '<rootDir>/test/fuzz/**/*.test.ts',
        '<rootDir>/test/e2e/**/*.test.ts',
      ],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.js'],
  testTimeout: 30000,
};
