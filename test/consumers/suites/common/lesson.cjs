'use strict';
// The lesson's scenario, shared by every row of the consumer matrix: a bucket of capacity 1 that gains
// one token a second, and ten requests through the user's client at once. They must be granted at
// 0, 1000, …, 9000 ms on the clock the test drives: one at once, then one a second.
//
// CommonJS so that every consumer can load it: Jest's CommonJS runs `require()` it, ESM tests import it.

/** How many requests the scenario makes at once. */
const REQUESTS = 10;
/** The bucket's refill interval in the lesson, in ms. */
const INTERVAL = 1000;
/** The grant instants the lesson expects, in ms from the scenario's start. */
const EXPECTED = Array.from({ length: REQUESTS }, (_, i) => i * INTERVAL);
/** How far the scenario drives the clock, in ms, before it gives up on requests not yet granted. */
const HORIZON = 15_000;

/** Lets pending promise callbacks run (native microtasks: no fake timer library fakes these). */
async function flushMicrotasks() {
  for (let i = 0; i < 50; i += 1) await Promise.resolve();
}

/**
 * runLesson makes ten requests through `request(id)` (the user's code: it awaits a token, then calls),
 * drives the clock, and resolves if they were granted in order at exactly EXPECTED; otherwise it throws
 * an Error whose first line says what was observed.
 *
 * The clock is driven by one of:
 * - `advance(ms)`: moves the clock by `ms` (sync or async). The scenario moves it to HORIZON in steps
 *   ending 1 ms before and at each expected instant, letting promise callbacks run after each step.
 * - `runAll()`: runs every timer (sync or async), then promise callbacks run.
 *
 * `now()` reads the clock in ms. Without it, a grant's instant is the clock at the end of the step in
 * which the grant was seen (exact at the expected instants; 1 ms early for a grant within a step).
 * With `syncRunAll: true` (`runAll` runs every timer before any promise callback can, like
 * `jest.runAllTimers()`), every request is seen after the last timer, so the scenario checks instead that all
 * ten were granted in order and that the last timer ran at exactly 9000 ms, or, for a timer bucket
 * (`refillAfterLast: 1000`), at 10000 ms: its refill interval adds the token that fills the bucket
 * after the last grant, and then stops, since the bucket is full and nobody waits.
 */
async function runLesson({ request, advance, runAll, now, syncRunAll = false, refillAfterLast = 0 }) {
  let elapsed = 0;
  const start = now === undefined ? 0 : now();
  const clock = () => (now === undefined ? elapsed : now() - start);
  const grants = [];
  const rejections = [];
  for (let id = 0; id < REQUESTS; id += 1) {
    request(id).then(
      () => grants.push({ id, at: clock() }),
      (error) => rejections.push({ id, error }),
    );
  }
  await flushMicrotasks();
  if (runAll !== undefined) {
    await runAll();
    await flushMicrotasks();
  } else {
    for (let second = 1; second * INTERVAL <= HORIZON; second += 1) {
      for (const step of [INTERVAL - 1, 1]) {
        await advance(step);
        elapsed += step;
        await flushMicrotasks();
      }
    }
  }
  check({
    grants,
    rejections,
    syncRunAll,
    refillAfterLast,
    clockAtEnd: clock(),
    horizon: runAll === undefined ? HORIZON : null,
  });
}

/**
 * lessonThroughClient runs the lesson through the user's `createClient(bucket, transport)`, with the
 * clock options of {@link runLesson}, and closes `bucket` afterwards whatever happened.
 */
async function lessonThroughClient(createClient, bucket, clockOptions) {
  const client = createClient(bucket, (request) => request);
  // A timer bucket (it has `running`) refills once more after the last grant, to full, then stops.
  const refillAfterLast = 'running' in bucket ? 1000 : 0;
  try {
    await runLesson({ request: (id) => client.request(id), refillAfterLast, ...clockOptions });
  } finally {
    bucket.close();
  }
}

/** Throws an Error whose first line describes the first way the grants differ from the lesson. */
function check({ grants, rejections, syncRunAll, refillAfterLast, clockAtEnd, horizon }) {
  const instants = `[${grants.map((g) => g.at).join(', ')}]`;
  const within = horizon === null ? 'after running every timer' : `within ${horizon} ms`;
  if (rejections.length > 0) {
    const { id, error } = rejections[0];
    throw new Error(`request ${id} rejected: ${String(error)} (${grants.length} granted, at ${instants} ms)`);
  }
  if (grants.length <= 1) {
    throw new Error(`no grant: ${grants.length} of ${REQUESTS} requests granted ${within} (at ${instants} ms)`);
  }
  if (grants.length < REQUESTS) {
    throw new Error(`only ${grants.length} of ${REQUESTS} requests granted ${within}, at ${instants} ms`);
  }
  const order = grants.map((g) => g.id);
  if (order.some((id, i) => id !== i)) throw new Error(`requests granted out of order: ${order.join(', ')}`);
  if (syncRunAll) {
    const last = EXPECTED[REQUESTS - 1] + refillAfterLast;
    if (clockAtEnd !== last) throw new Error(`the last timer ran at ${clockAtEnd} ms, expected ${last} ms`);
    return;
  }
  const wrong = grants.findIndex((g, i) => g.at !== EXPECTED[i]);
  if (wrong !== -1) {
    const { at } = grants[wrong];
    const by = at - EXPECTED[wrong];
    throw new Error(
      `request ${wrong} granted at ${at} ms, expected ${EXPECTED[wrong]} ms (${Math.abs(by)} ms ${by > 0 ? 'late' : 'early'}); ` +
        `all grants at ${instants} ms`,
    );
  }
}

/**
 * createManualClock returns a hand-written `Clock` (what a user may inject instead of a fake timer
 * library) whose time moves only through `await clock.advance(ms)`. Timers fire in order of their
 * instant, then of creation; promise callbacks run after each one.
 */
function createManualClock() {
  let time = 0;
  let nextId = 1;
  const timers = new Map();
  const add = (callback, ms, every) => {
    const id = nextId;
    nextId += 1;
    const delay = Math.max(1, Math.trunc(ms) || 0);
    timers.set(id, { at: time + delay, callback, every: every ? delay : 0 });
    return id;
  };
  const remove = (id) => {
    timers.delete(id);
  };
  const due = (until) => {
    let first;
    for (const [id, timer] of timers) {
      if (timer.at <= until && (first === undefined || timer.at < first.timer.at)) first = { id, timer };
    }
    return first;
  };
  return {
    performance: { now: () => time },
    setTimeout: (callback, ms) => add(callback, ms, false),
    clearTimeout: remove,
    setInterval: (callback, ms) => add(callback, ms, true),
    clearInterval: remove,
    async advance(ms) {
      const until = time + ms;
      for (let next = due(until); next !== undefined; next = due(until)) {
        time = next.timer.at;
        if (next.timer.every > 0) next.timer.at += next.timer.every;
        else timers.delete(next.id);
        next.timer.callback();
        await flushMicrotasks();
      }
      time = until;
      await flushMicrotasks();
    },
    get now() {
      return time;
    },
  };
}

module.exports = {
  REQUESTS,
  INTERVAL,
  EXPECTED,
  HORIZON,
  runLesson,
  lessonThroughClient,
  createManualClock,
  flushMicrotasks,
};
