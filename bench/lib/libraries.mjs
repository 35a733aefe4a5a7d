/**
 * The libraries under test, each behind one small adapter so every scenario drives them alike.
 *
 * A bucket is described by a {@link BucketSpec}: `capacity` tokens at most, `refillTokens` added every
 * `refillInterval` ms, `initialTokens` at creation. Each adapter maps that onto its library's own
 * options as a user of that library would, and says so in `config` (printed under each table).
 *
 * Adapter fields:
 * - `id`, `label`, `role` ('reference' | 'ours' | 'peer');
 * - `load()`: imports the library (once, lazily: a scenario that skips a library never loads it);
 * - `create(spec)`: a new bucket (may return a promise);
 * - `take(bucket)`: a promise that settles when one token is granted (the waiting call);
 * - `tryLoop(bucket, n)`: calls the non-waiting take `n` times, returns how many succeeded (a promise
 *   when the library's call is async), or `tryLoop: undefined` with `noTry` saying why;
 * - `close(bucket)`: releases the bucket's timers and rejects or drops its waiters.
 *
 * Each adapter writes its own loops rather than sharing one generic loop, so that V8 sees one library
 * at each call site and no library pays for another's shape (megamorphic call sites).
 *
 * @typedef {{ capacity: number, refillTokens: number, refillInterval: number, initialTokens: number }} BucketSpec
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The built package's folder: `$TBF_DIST_DIR`, or the repository's `dist/`. */
export const distDir = process.env.TBF_DIST_DIR ?? fileURLToPath(new URL('../../dist', import.meta.url));

let ours;
async function loadOurs() {
  const entry = `${distDir}/index.js`;
  if (!existsSync(entry)) {
    throw new Error(`${entry} is missing: build the package first (npm run build), or set TBF_DIST_DIR`);
  }
  ours ??= await import(pathToFileURL(entry).href);
  return ours;
}

/** Window length (ms) of a fixed-window limiter that passes the spec's rate with a burst of `capacity`. */
function windowMs(spec) {
  return (spec.refillInterval * spec.capacity) / spec.refillTokens;
}

const ignore = () => {};

/** The inline reference bucket (bench/lib/inline.mjs): the least work a token bucket can do. */
const reference = {
  id: 'reference',
  label: 'inline reference',
  role: 'reference',
  config: 'InlineTokenBucket: refill in whole steps, one performance.now() per call, array queue, one timer',
  mod: undefined,
  async load() {
    this.mod = await import('./inline.mjs');
  },
  create(spec) {
    return new this.mod.InlineTokenBucket(spec.capacity, spec.refillTokens, spec.refillInterval, spec.initialTokens);
  },
  take(bucket) {
    return bucket.getToken();
  },
  tryLoop(bucket, n) {
    let granted = 0;
    for (let i = 0; i < n; i++) if (bucket.tryGetToken()) granted++;
    return granted;
  },
  tryApi: 'tryGetToken()',
  waitApi: 'getToken()',
  close(bucket) {
    bucket.close();
  },
};

const lazy = {
  id: 'lazy',
  label: 'token-bucket-filter lazy',
  role: 'ours',
  config: 'new LazyTokenBucketFilter({ capacity, refillTokens, refillInterval, initialTokens })',
  mod: undefined,
  async load() {
    this.mod = await loadOurs();
  },
  create(spec) {
    return new this.mod.LazyTokenBucketFilter(spec);
  },
  take(bucket) {
    return bucket.getToken();
  },
  tryLoop(bucket, n) {
    let granted = 0;
    for (let i = 0; i < n; i++) if (bucket.tryGetToken()) granted++;
    return granted;
  },
  tryApi: 'tryGetToken()',
  waitApi: 'getToken()',
  close(bucket) {
    bucket.close();
  },
};

const timer = {
  id: 'timer',
  label: 'token-bucket-filter timer',
  role: 'ours',
  config: "TokenBucketFilterFactory.create({ kind: 'timer', capacity, refillTokens, refillInterval, initialTokens })",
  mod: undefined,
  async load() {
    this.mod = await loadOurs();
  },
  create(spec) {
    return this.mod.TokenBucketFilterFactory.create({ ...spec, kind: 'timer' });
  },
  take(bucket) {
    return bucket.getToken();
  },
  tryLoop(bucket, n) {
    let granted = 0;
    for (let i = 0; i < n; i++) if (bucket.tryGetToken()) granted++;
    return granted;
  },
  tryApi: 'tryGetToken()',
  waitApi: 'getToken()',
  close(bucket) {
    bucket.close();
  },
};

/**
 * An observer as a metrics exporter would set one: a counter per event, nothing else. The `-observed`
 * rows beside `lazy` and `timer` are the same buckets with it, so their ratio to the unobserved row of
 * the same run is the observer's cost.
 */
function countingObserver() {
  const counts = { granted: 0, refused: 0, queued: 0, aborted: 0, closed: 0 };
  return {
    counts,
    granted() {
      counts.granted++;
    },
    refused() {
      counts.refused++;
    },
    queued() {
      counts.queued++;
    },
    aborted() {
      counts.aborted++;
    },
    closed() {
      counts.closed++;
    },
  };
}

/** `base` (lazy or timer) with a counting `observer`: the same calls, loops written out again (one shape per call site). */
function observed(base, create) {
  return {
    id: `${base.id}-observed`,
    label: `${base.label}, observed`,
    role: 'ours',
    config: `${base.config}, with observer: { granted, refused, queued, aborted, closed } (each counts)`,
    mod: undefined,
    async load() {
      this.mod = await loadOurs();
    },
    create(spec) {
      return create(this.mod, { ...spec, observer: countingObserver() });
    },
    take(bucket) {
      return bucket.getToken();
    },
    tryLoop(bucket, n) {
      let granted = 0;
      for (let i = 0; i < n; i++) if (bucket.tryGetToken()) granted++;
      return granted;
    },
    tryApi: 'tryGetToken()',
    waitApi: 'getToken()',
    close(bucket) {
      bucket.close();
    },
  };
}

const lazyObserved = observed(lazy, (mod, options) => new mod.LazyTokenBucketFilter(options));
const timerObserved = observed(timer, (mod, options) =>
  mod.TokenBucketFilterFactory.create({ ...options, kind: 'timer' }),
);

const limiter = {
  id: 'limiter',
  label: 'limiter',
  role: 'peer',
  config:
    'new TokenBucket({ bucketSize: capacity, tokensPerInterval: refillTokens, interval: refillInterval }), content set to initialTokens',
  mod: undefined,
  async load() {
    this.mod = await import('limiter');
  },
  create(spec) {
    const bucket = new this.mod.TokenBucket({
      bucketSize: spec.capacity,
      tokensPerInterval: spec.refillTokens,
      interval: spec.refillInterval,
    });
    bucket.content = spec.initialTokens; // limiter's buckets start empty; its public field sets the start
    return bucket;
  },
  take(bucket) {
    return bucket.removeTokens(1);
  },
  tryLoop(bucket, n) {
    let granted = 0;
    for (let i = 0; i < n; i++) if (bucket.tryRemoveTokens(1)) granted++;
    return granted;
  },
  tryApi: 'tryRemoveTokens(1)',
  waitApi: 'removeTokens(1)',
  close() {
    // limiter has no close: a pending removeTokens() keeps its timer until it is granted.
  },
};

/** The key RateLimiterQueue uses when given none: the try loop and the initial take use it too. */
const RLF_KEY = 'limiter';

const rateLimiterFlexible = {
  id: 'rate-limiter-flexible',
  label: 'rate-limiter-flexible',
  role: 'peer',
  config:
    'RateLimiterMemory({ points: capacity, duration: window }) (a fixed window; window = refillInterval × capacity / refillTokens), waits through RateLimiterQueue; starts full, so the missing initial tokens are consumed first',
  mod: undefined,
  async load() {
    this.mod = (await import('rate-limiter-flexible')).default;
  },
  async create(spec) {
    const memory = new this.mod.RateLimiterMemory({ points: spec.capacity, duration: windowMs(spec) / 1000 });
    if (spec.initialTokens < spec.capacity) await memory.consume(RLF_KEY, spec.capacity - spec.initialTokens);
    return { memory, queue: new this.mod.RateLimiterQueue(memory) };
  },
  take(bucket) {
    return bucket.queue.removeTokens(1);
  },
  async tryLoop(bucket, n) {
    let granted = 0;
    const memory = bucket.memory;
    for (let i = 0; i < n; i++) {
      try {
        await memory.consume(RLF_KEY, 1);
        granted++;
      } catch {
        // refused: a RateLimiterRes rejection
      }
    }
    return granted;
  },
  tryApi: 'await consume(key) (a promise; refusal rejects)',
  waitApi: 'RateLimiterQueue removeTokens(1)',
  close() {
    // RateLimiterQueue has no close.
  },
};

const bottleneck = {
  id: 'bottleneck',
  label: 'bottleneck',
  role: 'peer',
  config:
    'new Bottleneck({ reservoir: initialTokens, reservoirIncreaseAmount: refillTokens, reservoirIncreaseInterval: refillInterval, reservoirIncreaseMaximum: capacity, heartbeatInterval: min(250, refillInterval) })',
  mod: undefined,
  async load() {
    this.mod = (await import('bottleneck')).default;
  },
  create(spec) {
    return new this.mod({
      reservoir: spec.initialTokens,
      reservoirIncreaseAmount: spec.refillTokens,
      reservoirIncreaseInterval: spec.refillInterval,
      reservoirIncreaseMaximum: spec.capacity,
      heartbeatInterval: Math.min(250, spec.refillInterval),
    });
  },
  take(bucket) {
    return bucket.schedule(resolved);
  },
  tryLoop: undefined,
  noTry: 'no equivalent: no call takes a token only if one is there (check() takes none)',
  waitApi: 'schedule(job)',
  close(bucket) {
    bucket.stop({ dropWaitingJobs: true }).catch(ignore);
  },
};
function resolved() {
  return Promise.resolve();
}

const pThrottle = {
  id: 'p-throttle',
  label: 'p-throttle',
  role: 'peer',
  config:
    'pThrottle({ limit: capacity, interval: window, signal }) (a window; window = refillInterval × capacity / refillTokens); starts full, so the missing initial tokens are taken first',
  mod: undefined,
  async load() {
    this.mod = (await import('p-throttle')).default;
  },
  create(spec) {
    const controller = new AbortController();
    const throttled = this.mod({ limit: spec.capacity, interval: windowMs(spec), signal: controller.signal })(ignore);
    for (let i = spec.initialTokens; i < spec.capacity; i++) throttled().catch(ignore);
    return { throttled, controller };
  },
  take(bucket) {
    return bucket.throttled();
  },
  tryLoop: undefined,
  noTry: 'no equivalent: a throttled call always waits its turn',
  waitApi: 'throttled()',
  close(bucket) {
    bucket.controller.abort();
  },
};

/**
 * With `$TBF_BASELINE_DIST` set (another build's dist/, such as main's), `lazy@baseline` and
 * `timer@baseline` are that build's buckets, run in the same rounds as this build's: an A/B of two
 * builds, interleaved, on the same machine at the same time.
 */
const baselineDir = process.env.TBF_BASELINE_DIST;
let baselineModule;
function baseline(base, create) {
  return {
    ...base,
    id: `${base.id}@baseline`,
    label: `${base.label} (baseline build)`,
    config: `${base.config}, from $TBF_BASELINE_DIST (${baselineDir})`,
    async load() {
      baselineModule ??= await import(pathToFileURL(`${baselineDir}/index.js`).href);
      this.mod = baselineModule;
    },
    create(spec) {
      return create(this.mod, spec);
    },
    take(bucket) {
      return bucket.getToken();
    },
    tryLoop(bucket, n) {
      let granted = 0;
      for (let i = 0; i < n; i++) if (bucket.tryGetToken()) granted++;
      return granted;
    },
  };
}
const baselines =
  baselineDir === undefined
    ? []
    : [
        baseline(lazy, (mod, spec) => new mod.LazyTokenBucketFilter(spec)),
        baseline(timer, (mod, spec) => mod.TokenBucketFilterFactory.create({ ...spec, kind: 'timer' })),
      ];

/** Every library, the reference first, then ours (observed too, and a baseline build's), then the peers. */
export const libraries = [
  reference,
  lazy,
  timer,
  lazyObserved,
  timerObserved,
  ...baselines,
  limiter,
  rateLimiterFlexible,
  bottleneck,
  pThrottle,
];

/** Returns the library with this id, or throws naming the known ids. */
export function libraryById(id) {
  const library = libraries.find((candidate) => candidate.id === id);
  if (library === undefined) {
    throw new Error(`Unknown library ${JSON.stringify(id)}; known: ${libraries.map((l) => l.id).join(', ')}`);
  }
  return library;
}
