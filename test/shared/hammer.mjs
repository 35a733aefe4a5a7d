// A worker of test/shared.threads.test.ts: hammers one shared bucket with tryGetToken() and getToken()
// for `durationMs`, then waits for every call it started to settle and reports what happened.
//
// workerData: { handle, sharedUrl, durationMs, seed }
// Each grant is [called, granted, tokens, kind]: the bucket decided it at some instant between the two.
// Posts one message: { grants: [[called, granted, tokens, kind]], started, granted, rejected, outcomes, errors, pendingAtEnd }
// Times are on the bucket's own base: performance.timeOrigin + performance.now(), in ms.
import { parentPort, workerData } from 'node:worker_threads';

const { handle, sharedUrl, durationMs, seed } = workerData;
const { SharedTokenBucketFilter } = await import(sharedUrl);
const bucket = SharedTokenBucketFilter.from(handle);
const now = () => performance.timeOrigin + performance.now();

// A small deterministic generator per worker, so that a failing run can be told apart by its seed.
let state = seed >>> 0 || 1;
const random = () => {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) / 2 ** 32;
};

const grants = [];
const errors = [];
let started = 0;
let granted = 0;
let rejected = 0;
const settledIds = new Set();
/** Outcomes per kind of call: { get: { granted, rejected }, abort: {...}, maxWait: {...} }. */
const outcomes = {
  get: { granted: 0, rejected: 0 },
  abort: { granted: 0, rejected: 0 },
  maxWait: { granted: 0, rejected: 0 },
};
const deadline = now() + durationMs;

/** Calls getToken(count) with an optional abort or maxWait, recording the grant time and the outcome. */
async function callGetToken(count, kind) {
  const id = started++;
  const controller = new AbortController();
  const options = {};
  if (kind === 'abort') {
    options.signal = controller.signal;
    setTimeout(() => controller.abort(new Error('test abort')), Math.floor(random() * 40));
  } else if (kind === 'maxWait') {
    options.maxWait = Math.floor(random() * 60);
  }
  const called = now();
  try {
    await bucket.getToken(count, options);
    const at = now();
    if (settledIds.has(id)) errors.push(`call #${id} settled twice`);
    settledIds.add(id);
    granted += 1;
    outcomes[kind].granted += 1;
    grants.push([called, at, count, kind]);
  } catch (error) {
    if (settledIds.has(id)) errors.push(`call #${id} settled twice`);
    settledIds.add(id);
    rejected += 1;
    outcomes[kind].rejected += 1;
    const expected =
      (kind === 'abort' && error?.message === 'test abort') ||
      (kind === 'maxWait' && error?.name === 'MaxWaitExceededError');
    if (!expected) errors.push(`call #${id} (${kind}) rejected with ${error?.name}: ${error?.message}`);
  }
}

/**
 * A client that spins on tryGetToken() for 2 ms at a time, yielding to the event loop in between: the
 * pollers of all threads race for every token as it appears, which is where a lost update would show.
 */
async function poller() {
  while (now() < deadline) {
    const until = now() + 2;
    for (let called = now(); called < until; called = now()) {
      if (bucket.tryGetToken()) grants.push([called, now(), 1, 'try']);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A client that awaits getToken() of 1 to 3 tokens in a loop, sometimes with an abort or a maxWait,
 * and sometimes pauses (so that the queue empties now and then and tryGetToken() gets its chances).
 */
async function waiter() {
  while (now() < deadline) {
    if (random() < 0.3) await pause(random() * 100);
    const dice = random();
    const kind = dice < 0.15 ? 'abort' : dice < 0.3 ? 'maxWait' : 'get';
    await callGetToken(1 + Math.floor(random() * 3), kind);
  }
}

/** Several getToken() calls in flight at once from this thread, so that they queue locally. */
async function burst() {
  while (now() < deadline) {
    const calls = [];
    for (let i = 0; i < 4; i += 1) calls.push(callGetToken(1, random() < 0.2 ? 'abort' : 'get'));
    await Promise.all(calls);
    await pause(random() * 200);
  }
}

await Promise.all([poller(), waiter(), waiter(), burst()]);
parentPort.postMessage({
  grants,
  started,
  granted,
  rejected,
  outcomes,
  errors,
  pendingAtEnd: started - settledIds.size,
});
