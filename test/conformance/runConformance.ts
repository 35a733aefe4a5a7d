import { describeImplementations } from '../support/describeImplementations.js';
import { implementationsOf, type Implementation } from '../support/implementations.js';
import { tokenBucketFilterSuite } from './tokenBucketFilterSuite.js';

/**
 * Runs the conformance suite (and the hostile-input suite within it) on every entry of
 * `test/support/implementations.ts` of `family`: each conformance file is this one call, so that
 * families run in parallel while the list stays the one place that names implementations.
 */
export function runConformance(family: Implementation['family']): void {
  describeImplementations('conformance', implementationsOf(family), ({ implementation, create, hooks }) => {
    tokenBucketFilterSuite(implementation.name, create, hooks);
  });
}
