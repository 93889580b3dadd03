// Tests are transformed by @swc/jest (fast, no type check); `npm run typecheck`
// type-checks everything, tests included, so nothing is lost by skipping it here.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' }, sourceMaps: 'inline' }] };

// @kubernetes/client-node 1.x (the last line for Node 20: 2.x needs undici 8, Node >= 22.19) is
// ESM only, and so are the OpenID packages it imports at load time. Jest runs tests as CommonJS
// and supports require(esm) only on Node >= 24.9, so the e2e project compiles exactly these
// packages to CommonJS with the same swc; everything else in node_modules stays untouched.
const ESM_PACKAGES = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose'];
const e2eTransform = {
  ...transform,
  '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022' }, module: { type: 'commonjs' } }],
};

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
      transform: e2eTransform,
      transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
      setupFiles: ['<rootDir>/jest.setup.js'],
      roots: ['<rootDir>/test'],
      testMatch: ['**/*.test.ts'],
    },
  ],
};
