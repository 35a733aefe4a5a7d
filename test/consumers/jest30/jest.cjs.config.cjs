'use strict';
// The CommonJS tests: `jest --config jest.cjs.config.cjs`.
module.exports = {
  testMatch: ['<rootDir>/suite/jest/cjs/*.test.cjs'],
  transform: {},
  // A hang is a failure, not a stuck run.
  testTimeout: 20_000,
};
