import { runConformance } from './conformance/runConformance.js';

// RedisTokenBucketFilter with `timeSource: 'redis'` (the default), through both clients, against a
// private redis-server under libfaketime whose clock follows each test's fake clock.
runConformance('redis-time');
