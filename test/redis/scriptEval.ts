import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import { BUCKET_SCRIPT } from '../../src/redis/index.js';
import type { RedisTarget } from './server.js';

/** Runs the bucket script through `EVAL` on one key with the given arguments; resolves with its raw reply. */
export type ScriptEval = (key: string, ...args: string[]) => Promise<unknown>;

/**
 * For the tests that drive the Lua script by hand (arguments written out, no store in between): opens
 * one ioredis connection to `target` before the enclosing `describe`'s tests and, after them, closes
 * it and stops the server. Call it inside that `describe` (skipped when `target` is a skip). The
 * function it returns rejects when there is no connection (the tests were skipped, or ran too early).
 */
export function useScriptEval(target: RedisTarget): ScriptEval {
  let redis: Redis | undefined;
  beforeAll(() => {
    if ('skip' in target) return;
    redis = new Redis(target.url, { lazyConnect: false, maxRetriesPerRequest: 0 });
  });
  afterAll(async () => {
    redis?.disconnect();
    if (!('skip' in target)) await target.stop();
  });
  return async (key, ...args) => {
    if (redis === undefined) throw new Error('no Redis connection');
    return redis.eval(BUCKET_SCRIPT, 1, key, ...args);
  };
}
