import { runConformance } from './conformance/runConformance.js';

// Every contract must hold through the several-limit code path (`MultiLimit`, one refill timer per
// limit) exactly as for one limit: the suite's options as a bucket of two equal limits.
runConformance('limits');
