import { collectGarbage } from '../lib/stats.mjs';

/**
 * Every key's limit: 10 tokens, 1 more per second. A key used once stays below capacity for 10 s, so
 * every key is still held when the heap is weighed (nobody may drop it).
 */
const spec = { capacity: 10, refillTokens: 1, refillInterval: 1000 };

/**
 * The keyed reference: a `Map` from key to `{ tokens, last }`, refilled continuously on each call. The
 * least a per-key limiter can keep and do (it never forgets a key, so its memory grows with every key
 * ever seen).
 */
class InlineKeyedBucket {
  constructor(capacity, tokensPerMs) {
    this.capacity = capacity;
    this.tokensPerMs = tokensPerMs;
    this.buckets = new Map();
  }

  tryGetToken(key) {
    const now = performance.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.capacity, last: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.last) * this.tokensPerMs);
      bucket.last = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}

/** How each library answers "may this key go now?", as its users would call it. */
const adapters = {
  reference: {
    api: 'inline Map<key, { tokens, last }>: tryGetToken(key)',
    create: () => new InlineKeyedBucket(spec.capacity, spec.refillTokens / spec.refillInterval),
    sync: true,
    call: (limiter, key) => limiter.tryGetToken(key),
    size: (limiter) => limiter.buckets.size,
  },
  lazy: {
    api: 'KeyedTokenBucketFilter: tryGetToken(key)',
    create: (library) => new library.mod.KeyedTokenBucketFilter(spec),
    sync: true,
    call: (limiter, key) => limiter.tryGetToken(key),
    size: (limiter) => limiter.size,
  },
  'rate-limiter-flexible': {
    api: 'RateLimiterMemory({ points: 10, duration: 10 }): await consume(key) (refusal rejects)',
    create: (library) => new library.mod.RateLimiterMemory({ points: spec.capacity, duration: 10 }),
    sync: false,
    call: (limiter, key) =>
      limiter.consume(key, 1).then(
        () => true,
        () => false,
      ),
    size: () => undefined,
  },
};

/** Makes one call per key, in order; returns the ms taken and how many calls were granted. */
async function pass(adapter, limiter, keys) {
  let granted = 0;
  const started = performance.now();
  if (adapter.sync) {
    for (let i = 0; i < keys.length; i += 1) if (adapter.call(limiter, keys[i])) granted += 1;
  } else {
    for (let i = 0; i < keys.length; i += 1) if (await adapter.call(limiter, keys[i])) granted += 1;
  }
  return { ms: performance.now() - started, granted };
}

/**
 * keyed: per-key limiting with 1,000,000 distinct keys. Runs in a fresh process per library and round:
 * a warm-up on 50,000 other keys (on a limiter then thrown away), then one call for each of n new keys
 * (every call creates a key), a second call for each of them (every key exists), and the heap held per
 * key, weighed after a full GC with every key still held (the keys' strings are allocated before the
 * heap is first weighed, so they are not counted).
 */
export default {
  name: 'keyed',
  title: 'keyed: 1,000,000 distinct keys, 10 per key then 1/s',
  description:
    'Per-key limiting, 10 tokens per key refilled at 1 per second: calls per second when each call is a key ' +
    'never seen before (the limiter creates its state), calls per second on the same keys again (the state ' +
    'exists), and heap bytes held per key with all 1,000,000 keys held (weighed after a full GC; key strings ' +
    "excluded). Ours is `KeyedTokenBucketFilter.tryGetToken(key)` (sync); rate-limiter-flexible's " +
    '`RateLimiterMemory` only offers `await consume(key)`, awaited one call at a time as a request handler ' +
    "would, and sets an (unref'd) expiry timer per key. Higher rates and lower heap are better.",
  isolation: 'child',
  params: {
    full: { rounds: 3, n: 1_000_000, warmup: 50_000, timeoutMs: 240_000 },
    quick: { rounds: 1, n: 2_000, warmup: 500 },
  },
  columns: [
    { key: 'newKeyOps', label: 'new keys', unit: 'ops/s', better: 'higher', ratio: true },
    { key: 'existingKeyOps', label: 'existing keys', unit: 'ops/s', better: 'higher', ratio: true },
    { key: 'bytesPerKey', label: 'heap/key', unit: 'B', better: 'lower', ratio: true },
  ],
  headline: 'newKeyOps',
  skip: (library) =>
    adapters[library.id] === undefined
      ? library.id === 'timer'
        ? "a keyed bucket's keys are lazy buckets: see the lazy row"
        : 'no per-key limiter'
      : undefined,
  async measure(library, params) {
    const adapter = adapters[library.id];
    const keys = Array.from({ length: params.n }, (_, i) => `user:${i}`);
    const warmupKeys = Array.from({ length: params.warmup }, (_, i) => `warmup:${i}`);
    await pass(adapter, adapter.create(library), warmupKeys);
    await pass(adapter, adapter.create(library), warmupKeys);

    collectGarbage();
    const before = process.memoryUsage().heapUsed;
    const limiter = adapter.create(library);
    const fresh = await pass(adapter, limiter, keys);
    const again = await pass(adapter, limiter, keys);
    collectGarbage();
    const after = process.memoryUsage().heapUsed;
    const held = adapter.size(limiter);
    if (fresh.granted !== params.n || again.granted !== params.n) {
      throw new Error(`expected every call granted, got ${fresh.granted} and ${again.granted} of ${params.n}`);
    }
    if (held !== undefined && held !== params.n) throw new Error(`expected ${params.n} keys held, found ${held}`);
    return {
      newKeyOps: (params.n / fresh.ms) * 1000,
      existingKeyOps: (params.n / again.ms) * 1000,
      bytesPerKey: (after - before) / params.n,
      keysHeld: held,
      limiter: limiter === undefined ? undefined : adapter.api,
    };
  },
  targets: [
    {
      text: "heap per key ≤ rate-limiter-flexible's",
      check: (row, rows) =>
        row.summary.bytesPerKey.median <=
        (rows.find((r) => r.id === 'rate-limiter-flexible')?.summary?.bytesPerKey.median ?? Infinity),
    },
    {
      text: "new-key rate ≥ rate-limiter-flexible's",
      check: (row, rows) =>
        row.summary.newKeyOps.median >=
        (rows.find((r) => r.id === 'rate-limiter-flexible')?.summary?.newKeyOps.median ?? 0),
    },
  ],
};
