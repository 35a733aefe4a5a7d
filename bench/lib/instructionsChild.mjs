/**
 * One row of `bench/instructions.mjs`, run under callgrind:
 *
 *   node --predictable instructionsChild.mjs <dist dir> <lazy|timer|inline> <mode> <calls>
 *
 * try-hit, get-hit, try-miss: makes `calls` calls on one bucket that always has tokens (the hits) or
 * never has any (try-miss). backlog: `calls` callers `getToken()` at once on an empty bucket whose
 * `calls` tokens all arrive at once, 1.5 s later on `@sinonjs/fake-timers` (installed after the
 * import, so the count does not depend on how slowly valgrind runs), and are all awaited; enqueue:
 * the same callers queue, and the run ends before their tokens come (the backlog less its grants).
 * Both first run three backlogs of 20,000 callers, uncounted by the difference `bench/instructions.mjs`
 * takes, so that the code is compiled as in a process that has served callers before.
 * Exits with status 1 if any call was answered otherwise, so that a count is never of the wrong path.
 */
import { pathToFileURL } from 'node:url';
import { InlineTokenBucket } from './inline.mjs';

const [dist, kind, mode, callsArg] = process.argv.slice(2);
const calls = Number(callsArg);
const lib = kind === 'inline' ? undefined : await import(pathToFileURL(`${dist}/index.js`).href);

/** A bucket of `kind` on `spec` (whole tokens, ms). */
function create(spec) {
  if (lib === undefined) {
    return new InlineTokenBucket(spec.capacity, spec.refillTokens, spec.refillInterval, spec.initialTokens);
  }
  return kind === 'lazy'
    ? new lib.LazyTokenBucketFilter(spec)
    : lib.TokenBucketFilterFactory.create({ ...spec, kind: 'timer' });
}

/**
 * `n` callers queue on an empty bucket whose `n` tokens arrive at once 1.5 s later, on fake timers;
 * with `grant`, the clock reaches that instant and every caller is awaited. Returns the callers granted.
 */
async function backlog(FakeTimers, n, grant) {
  const clock = FakeTimers.install();
  const bucket = create({ capacity: n, refillTokens: n, refillInterval: 1500, initialTokens: 0 });
  let granted = 0;
  const waits = [];
  for (let i = 0; i < n; i += 1) waits.push(bucket.getToken().then(() => (granted += 1)));
  if (grant) {
    clock.tick(1500);
    await Promise.all(waits);
    bucket.close?.();
  }
  // Left waiting otherwise: closing would reject them all, and count that too.
  clock.uninstall();
  return granted;
}

/** `n` calls on a bucket that always (`hit`) or never has tokens; returns the calls granted. */
async function makeCalls(n, hit, awaitGet) {
  // A refill a second of a billion tokens: no step comes during a run, so every call takes the same path.
  const bucket = create({
    capacity: hit ? 1e9 : 1,
    refillTokens: 1,
    refillInterval: 1e9,
    initialTokens: hit ? 1e9 : 0,
  });
  let granted = 0;
  if (awaitGet) {
    for (let i = 0; i < n; i += 1) {
      await bucket.getToken();
      granted += 1;
    }
  } else {
    for (let i = 0; i < n; i += 1) if (bucket.tryGetToken()) granted += 1;
  }
  bucket.close?.();
  return granted;
}

let granted;
let expected = calls;
if (mode === 'backlog' || mode === 'enqueue') {
  const FakeTimers = await import('@sinonjs/fake-timers');
  for (let round = 0; round < 3; round += 1) await backlog(FakeTimers, 20_000, true);
  granted = await backlog(FakeTimers, calls, mode === 'backlog');
  if (mode === 'enqueue') expected = 0;
} else {
  granted = await makeCalls(calls, mode !== 'try-miss', mode === 'get-hit');
  if (mode === 'try-miss') expected = 0;
}
if (granted !== expected) {
  console.error(`${kind} ${mode}: ${granted} calls granted, expected ${expected}`);
  process.exit(1);
}
