/** Unit and integration tests; the container end-to-end suite has its own config (jest.e2e.config.js). */
module.exports = {
  preset: 'ts-jest',
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/e2e/'],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // Bundles the worker CLI once; the worker tests spawn it as the image runs it.
  globalSetup: '<rootDir>/test/worker/global-setup.js',
};
