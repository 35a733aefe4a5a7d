// Soak: a million random operations against buckets of the kinds named (entries of
// test/support/implementations.ts) on a fake clock, then checks that every promise settled, no timer is
// left, and the heap came back to where it started. Run by test/soak.test.ts as
// `node --expose-gc test/soak/soak.mjs <distDir> <operations> <seed> <kind name>...`.
import FakeTimers from '@sinonjs/fake-timers';

const [distDir, operationsArg = '1000000', seedArg = '42', ...kindNames] = process.argv.slice(2);
const { LazyTokenBucketFilter, TimerTokenBucketFilter, KeyedTokenBucketFilter } = await import(`${distDir}/index.js`);
const { SharedTokenBucketFilter } = await import(`${distDir}/shared.js`);
const operations = Number(operationsArg);

/** A one-key view of a keyed bucket (as test/support/keyedView.ts), with other keys busy too. */
function keyView(keyed, key) {
  keyed.tryGetToken({ other: 'key' });
  return {
    get capacity() {
      return keyed.capacity;
    },
    get pending() {
      return keyed.pending(key);
    },
    getToken: (count, options) => keyed.getToken(key, count, options),
    tryGetToken: (count) => keyed.tryGetToken(key, count),
    close: () => keyed.close(),
  };
}
const twice = ({ clock, ...limit }) => ({ limits: [limit, { ...limit }], clock });

/** The in-process entries of the list, by name; a name missing here fails the soak. */
const factories = {
  LazyTokenBucketFilter: (options) => new LazyTokenBucketFilter(options),
  TimerTokenBucketFilter: (options) => new TimerTokenBucketFilter(options).start(),
  'KeyedTokenBucketFilter, one key (string)': (options) => keyView(new KeyedTokenBucketFilter(options), 'alice'),
  'KeyedTokenBucketFilter, one key (object)': (options) => keyView(new KeyedTokenBucketFilter(options), { id: 7 }),
  'KeyedTokenBucketFilter, one key (with maxKeys)': (options) =>
    keyView(new KeyedTokenBucketFilter({ ...options, maxKeys: 3 }), 42),
  'LazyTokenBucketFilter, two limits': (options) => new LazyTokenBucketFilter(twice(options)),
  'TimerTokenBucketFilter, two limits': (options) => new TimerTokenBucketFilter(twice(options)).start(),
  SharedTokenBucketFilter: (options) => new SharedTokenBucketFilter(options),
  'SharedTokenBucketFilter, two limits': (options) => new SharedTokenBucketFilter(twice(options)),
};
const kinds = kindNames.map((name) => {
  const factory = factories[name];
  if (factory === undefined) throw new Error(`soak.mjs has no factory for ${JSON.stringify(name)}`);
  return factory;
});
if (kinds.length === 0) throw new Error('name the kinds to soak');

// A small deterministic PRNG (mulberry32), so a failure can be replayed with its seed.
let seed = Number(seedArg) >>> 0;
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const pick = (n) => Math.floor(random() * n);

const gc = globalThis.gc;
if (typeof gc !== 'function') throw new Error('run with --expose-gc');

async function heapAfterGc() {
  for (let i = 0; i < 3; i += 1) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const counts = { granted: 0, rejected: 0, tryTrue: 0, tryFalse: 0, closes: 0 };
let outstanding = 0;

async function soak(total) {
  const clock = FakeTimers.createClock();
  const newBucket = () =>
    kinds[pick(kinds.length)]({
      capacity: 1 + pick(8),
      refillTokens: 1 + pick(4),
      refillInterval: 1 + pick(50),
      initialTokens: 0,
      clock,
    });
  const buckets = [newBucket(), newBucket(), newBucket(), newBucket()];
  let controllers = [];
  const settle = (outcome) => () => {
    outstanding -= 1;
    counts[outcome] += 1;
  };
  for (let i = 0; i < total; i += 1) {
    const index = pick(buckets.length);
    const bucket = buckets[index];
    const roll = random();
    if (roll < 0.4) {
      const count = 1 + pick(bucket.capacity);
      const options = {};
      if (random() < 0.3) {
        const controller = new AbortController();
        controllers.push(controller);
        options.signal = controller.signal;
      }
      if (random() < 0.3) options.maxWait = pick(200);
      outstanding += 1;
      bucket.getToken(count, options).then(settle('granted'), settle('rejected'));
    } else if (roll < 0.6) {
      if (bucket.tryGetToken(1 + pick(bucket.capacity))) counts.tryTrue += 1;
      else counts.tryFalse += 1;
    } else if (roll < 0.7) {
      if (controllers.length > 0) {
        const at = pick(controllers.length);
        controllers[at].abort();
        controllers[at] = controllers[controllers.length - 1];
        controllers.pop();
      }
    } else if (roll < 0.99) {
      if (random() < 0.05) await clock.tickAsync(pick(100));
      else clock.tick(pick(20));
    } else if (roll < 0.995 || bucket.pending > 1000) {
      bucket.close();
      counts.closes += 1;
      buckets[index] = newBucket();
    }
    if (controllers.length > 5000) controllers = controllers.slice(-1000);
  }
  for (const bucket of buckets) bucket.close();
  await clock.tickAsync(1000);
  return clock.countTimers();
}

// A warm-up round first, so that compiled code and inline caches are in the baseline, not the delta.
await soak(Math.min(operations, 100_000));
const before = await heapAfterGc();
const started = performance.now();
const timersLeft = await soak(operations);
await new Promise((resolve) => setImmediate(resolve));
const after = await heapAfterGc();
console.log(
  JSON.stringify({
    operations,
    ms: Math.round(performance.now() - started),
    outstanding,
    timersLeft,
    heapBefore: before,
    heapAfter: after,
    heapDelta: after - before,
    ...counts,
    kinds: kindNames,
  }),
);
