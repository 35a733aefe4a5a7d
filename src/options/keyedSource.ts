/**
 * Whether `bucket` is a keyed bucket: its `available` is a method that declares a parameter (the key),
 * as on `KeyedTokenBucketFilter` and `RedisKeyedTokenBucketFilter`. On a plain bucket `available` is a
 * number (in-process buckets) or a method of no parameter (the Redis bucket). `wrap()` and the HTTP
 * helpers use it to require a key for a keyed bucket and refuse one for a plain bucket.
 */
export function isKeyedSource(bucket: object): boolean {
  const available = (bucket as { available?: unknown }).available;
  return typeof available === 'function' && available.length > 0;
}
