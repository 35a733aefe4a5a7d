import { runConformance } from './conformance/runConformance.js';

// RedisTokenBucketFilter and a one-key view of the keyed store, with client time, on a 3-master Redis
// Cluster with replicas (test/redis/cluster.ts), through the cluster clients of ioredis, node-redis and iovalkey.
runConformance('redis-cluster');
