// Tests are transformed by @swc/jest (fast, no type check); `npm run typecheck`
// type-checks everything, tests included, so nothing is lost by skipping it here.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, sourceMaps: 'inline' }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      setupFiles: ['<rootDir>/jest.setup.js'],
      roots: ['<rootDir>/pkg', '<rootDir>/cmd', '<rootDir>/scripts'],
      testMatch: ['**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      setupFiles: ['<rootDir>/jest.setup.js'],
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
    },
  ],
};
