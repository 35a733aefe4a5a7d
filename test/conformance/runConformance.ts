import { describeImplementations } from '../support/describeImplementations.js';
import { describe, it } from 'vitest';
import { implementationsOf, type Implementation } from '../support/implementations.js';
import { pauseSuite } from './pauseSuite.js';
import { tokenBucketFilterSuite } from './tokenBucketFilterSuite.js';

/**
 * Runs the conformance suite (and the hostile-input suite within it, and the pause suite on the entries
 * with `features.pause`) on every entry of
 * `test/support/implementations.ts` of `family`: each conformance file is this one call, so that
 * families run in parallel while the list stays the one place that names implementations.
 */
export function runConformance(family: Implementation['family']): void {
  describeImplementations('conformance', implementationsOf(family), ({ implementation, create, hooks }) => {
    tokenBucketFilterSuite(implementation.name, create, hooks);
    if (implementation.features.pause) {
      pauseSuite(implementation.name, create, hooks);
    } else {
      const why = 'no pause() (features.pause is false)';
      console.warn(`  SKIPPED ${implementation.name} (pause): ${why}`);
      describe(`${implementation.name} (pause)`, () => {
        it.skip(`skipped: ${why}`, () => undefined);
      });
    }
  });
}
