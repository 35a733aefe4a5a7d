// The scenarios every runtime row runs (Node 22 and 24, Bun, Deno, workerd, Edge Runtime): the lesson on
// an injected hand-written clock (exact instants) and on real time with short intervals, the keyed
// bucket, and the shared bucket (in one thread on an injected clock; across real workers elsewhere).
import { KeyedTokenBucketFilter, TokenBucketFilterFactory } from 'token-bucket-filter';
import { SharedTokenBucketFilter } from 'token-bucket-filter/shared';
import { LIMIT, createClient } from '../common/client.mjs';
import lesson from '../common/lesson.cjs';

/** The refill interval of the real-time scenarios, in ms: short, so each takes about half a second. */
export const REAL_INTERVAL = 50;
/** How late a real-time grant may be, in ms, on a loaded machine (never early: that is checked exactly). */
const REAL_SLACK = 1000;

/**
 * Buckets created at module scope, as most users write them (here with REAL_INTERVAL). A runtime that
 * refuses one at module scope (workerd allows no timer there) fails its row instead of the whole file.
 */
const moduleScope = {};
for (const kind of ['lazy', 'timer']) {
  try {
    moduleScope[kind] = { bucket: TokenBucketFilterFactory.create({ ...LIMIT, refillInterval: REAL_INTERVAL, kind }) };
  } catch (error) {
    moduleScope[kind] = { error };
  }
}

const identity = (request) => request;

/**
 * Runs the lesson on a hand-written injected clock: exact instants. `setup(clock)` returns the
 * `request(id)` the lesson makes and the `close()` that ends it.
 */
async function injectedLesson(setup) {
  const clock = lesson.createManualClock();
  const { request, close } = setup(clock);
  try {
    await lesson.runLesson({ request, advance: (ms) => clock.advance(ms), now: () => clock.now });
  } finally {
    close();
  }
}

/** The lesson's setup through the user's client on `bucket`. */
function throughClient(bucket) {
  const client = createClient(bucket, identity);
  return { request: (id) => client.request(id), close: () => bucket.close() };
}

/**
 * Makes `count` requests at once through `request(id)` on real time and checks that request k was
 * granted in order, never before k × REAL_INTERVAL ms after `start`, and at most REAL_SLACK ms late.
 */
async function realTimeLesson(start, request, count = lesson.REQUESTS) {
  const grants = await Promise.all(
    Array.from({ length: count }, (_, id) => request(id).then(() => ({ id, at: performance.now() - start }))),
  );
  grants.sort((a, b) => a.at - b.at);
  const describe = () => grants.map((g) => g.at.toFixed(1)).join(', ');
  grants.forEach((grant, k) => {
    const due = k * REAL_INTERVAL;
    if (grant.id !== k) throw new Error(`requests granted out of order: ${grants.map((g) => g.id).join(', ')}`);
    if (grant.at < due)
      throw new Error(`request ${k} granted at ${grant.at.toFixed(2)} ms, before ${due} ms: [${describe()}]`);
    if (grant.at > due + REAL_SLACK) {
      throw new Error(
        `request ${k} granted at ${grant.at.toFixed(1)} ms, over ${REAL_SLACK} ms after ${due} ms: [${describe()}]`,
      );
    }
  });
}

/**
 * Checks that a bucket of capacity 1 that gains a token every REAL_INTERVAL ms granted no faster than
 * that from `from` on. By time t it can have granted at most 2 + floor((t − from) / REAL_INTERVAL)
 * tokens after `from` (one it may hold, one from a step just after `from`), so the k-th grant (from 0)
 * comes at least (k − 1) intervals after `from`. Instants are read after each grant, so they are never
 * early: the bound holds however late a grant is seen. 1 ms of tolerance, for threads whose clocks
 * differ by a fraction of a ms.
 */
function checkNoFaster(instants, from, where) {
  const sorted = [...instants].sort((a, b) => a - b);
  const shown = () => `[${sorted.map((t) => (t - from).toFixed(1)).join(', ')}] ms`;
  sorted.forEach((at, k) => {
    const least = (k - 1) * REAL_INTERVAL;
    if (at - from < least - 1) {
      throw new Error(`grant ${k} ${where} at ${(at - from).toFixed(2)} ms, before ${least} ms: ${shown()}`);
    }
  });
}

/** The scenarios, by row title. `workers` ones need `spawnWorkers` from the runtime's runner. */
export const scenarios = {};

for (const kind of ['lazy', 'timer']) {
  scenarios[`lesson/${kind}/injected-clock`] = () =>
    injectedLesson((clock) => throughClient(TokenBucketFilterFactory.create({ ...LIMIT, kind, clock })));

  scenarios[`lesson/${kind}/real-${REAL_INTERVAL}ms`] = async () => {
    const start = performance.now();
    const bucket = TokenBucketFilterFactory.create({ ...LIMIT, refillInterval: REAL_INTERVAL, kind });
    const client = createClient(bucket, identity);
    try {
      await realTimeLesson(start, (id) => client.request(id));
    } finally {
      bucket.close();
    }
  };

  scenarios[`module/${kind}/real-${REAL_INTERVAL}ms`] = async () => {
    const { bucket, error } = moduleScope[kind];
    if (error !== undefined) throw error;
    const client = createClient(bucket, identity);
    const from = performance.now();
    try {
      const instants = await Promise.all(
        Array.from({ length: lesson.REQUESTS }, (_, id) => client.request(id).then(() => performance.now())),
      );
      checkNoFaster(instants, from, 'of the module-scope bucket');
    } finally {
      bucket.close();
    }
  };
}

scenarios['keyed/injected-clock'] = () =>
  // Two keys at once: each is granted on its own schedule, neither waits for the other.
  injectedLesson((clock) => {
    const perUser = new KeyedTokenBucketFilter({ ...LIMIT, clock });
    return {
      request: (id) => Promise.all([perUser.getToken('alice'), perUser.getToken('bob')]).then(() => id),
      close: () => perUser.close(),
    };
  });

scenarios[`keyed/real-${REAL_INTERVAL}ms`] = async () => {
  const start = performance.now();
  const perUser = new KeyedTokenBucketFilter({ ...LIMIT, refillInterval: REAL_INTERVAL });
  try {
    await Promise.all(['alice', 'bob'].map((key) => realTimeLesson(start, () => perUser.getToken(key), 5)));
  } finally {
    perUser.close();
  }
};

scenarios['shared/injected-clock'] = () =>
  // Two instances on one handle stand for two threads: requests alternate between them.
  injectedLesson((clock) => {
    const bucket = new SharedTokenBucketFilter({ ...LIMIT, clock });
    const other = SharedTokenBucketFilter.from(bucket.handle, { clock });
    return { request: (id) => (id % 2 === 0 ? bucket : other).getToken().then(() => id), close: () => bucket.close() };
  });

/** How many tokens each of the two workers draws in the `shared/workers` scenario. */
const PER_WORKER = 5;

/**
 * shared/workers: two workers draw PER_WORKER tokens each from one shared bucket (capacity 1, one token
 * every REAL_INTERVAL ms) and report their grant instants on the epoch-ms time base every thread shares.
 * `spawnWorkers(handle, count)` is the runtime's way to start them: it returns `{ ready, go, done }`:
 * `ready` resolves once every worker holds the bucket, `go()` lets them draw, and `done` resolves to
 * their arrays of instants.
 */
export async function sharedWorkers(spawnWorkers) {
  const epochNow = () => performance.timeOrigin + performance.now();
  const bucket = new SharedTokenBucketFilter({ ...LIMIT, refillInterval: REAL_INTERVAL });
  try {
    const workers = spawnWorkers(bucket.handle, PER_WORKER);
    await workers.ready;
    const from = epochNow();
    workers.go();
    const instants = (await workers.done).flat();
    if (instants.length !== 2 * PER_WORKER) throw new Error(`${instants.length} grants, expected ${2 * PER_WORKER}`);
    checkNoFaster(instants, from, 'across workers');
  } finally {
    bucket.close();
  }
}

/**
 * The worker side of `shared/workers`: opens the bucket behind `handle` at once, and returns the
 * function that draws `count` tokens from it and resolves to their grant instants.
 */
export function sharedDrawer(handle) {
  const bucket = SharedTokenBucketFilter.from(handle);
  return async (count) => {
    const instants = [];
    for (let i = 0; i < count; i += 1) {
      await bucket.getToken();
      instants.push(performance.timeOrigin + performance.now());
    }
    return instants;
  };
}

/** How long one scenario may take, in ms of real time, before it counts as hung. */
const SCENARIO_TIMEOUT = 20_000;

/**
 * runScenarios runs the scenarios named in `titles` (all by default) one after the other, each with a
 * timeout, and calls `report(title, ok, error, ms)` for each. `extra` adds runtime-specific scenarios.
 */
export async function runScenarios(report, { titles, extra = {} } = {}) {
  const all = { ...scenarios, ...extra };
  for (const title of titles ?? Object.keys(all)) {
    const started = performance.now();
    let timer;
    try {
      if (all[title] === undefined) throw new Error(`no scenario named ${title}`);
      await Promise.race([
        all[title](),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${SCENARIO_TIMEOUT} ms`)), SCENARIO_TIMEOUT);
        }),
      ]);
      report(title, true, null, performance.now() - started);
    } catch (error) {
      report(title, false, error, performance.now() - started);
    } finally {
      clearTimeout(timer);
    }
  }
}
