'use strict';
// The ESM tests: `node --experimental-vm-modules node_modules/jest/bin/jest.js --config jest.esm.config.cjs`.
module.exports = {
  testMatch: ['<rootDir>/suite/jest/esm/*.test.mjs'],
  transform: {},
  // A hang is a failure, not a stuck run.
  testTimeout: 20_000,
};
