import { runConformance } from './conformance/runConformance.js';

// RedisTokenBucketFilter with client time, against a real Redis, through both clients.
runConformance('redis');
