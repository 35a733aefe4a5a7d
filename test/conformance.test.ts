import { tokenBucketFilterSuite } from './conformance/tokenBucketFilterSuite.js';
import { implementations } from './support/implementations.js';

for (const [name, create] of implementations) tokenBucketFilterSuite(name, create);
