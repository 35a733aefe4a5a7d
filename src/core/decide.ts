import type { LimitState } from './limits.js';
import { msUntil } from './refill.js';

/**
 * The one decision under every bucket, as pure arithmetic: no clock, no I/O, no timer.
 *
 * A bucket's decision state is its *tail*: where its limits stand once every reservation made so far
 * (every caller queued, in any thread or process) has been granted. A request of `count` tokens
 * arriving at clock reading `now` lines up behind all of them, so its grant instant is the first
 * instant, not before `now`, at which the tail holds `count` tokens of every limit. Three outcomes:
 *
 * - **granted now**: that instant has come (the tail holds the tokens now, and no reservation is
 *   outstanding, since an outstanding one always leaves the tail at an instant still to come);
 * - **reserved until an instant**: the tokens are taken at that instant, which lies ahead;
 * - **refused**: that instant is more than `maxWait` ms away; nothing is taken.
 *
 * `tryGetToken()` is this decision with `maxWait` 0 (answered as a boolean by {@link takeNow});
 * `getToken()` is it with the caller's `maxWait` (Infinity when none); `waitTime()` and `available` are {@link peekWait} and {@link peekAvailable};
 * giving back a reservation is {@link replay} from where the tail stood before it; `pause(ms)` is
 * {@link pauseUntil} on the state before any reservation, which the queue is then re-planned on. The in-process
 * buckets run it on their queue's projection, the shared bucket on the state it holds in shared
 * memory, and the Redis script is a declared port of it, operation for operation
 * (`src/redis/script.ts`); one table of exact instants (`test/support/decisionTable.ts`) runs against
 * all three.
 */

/** What {@link decide} returns for a refused request: not a number, so no comparison with an instant holds. */
export const REFUSED = Number.NaN;

/**
 * Decides a request of `count` tokens (1 ≤ count ≤ `tail.capacity`) arriving at clock reading `now`
 * (ms) behind every reservation in `tail`, with at most `maxWait` ms of waiting (0: only a grant now;
 * Infinity: no limit). Returns the grant instant, a clock reading in ms:
 *
 * - at or before `now`: granted now, and the tokens are taken from `tail`;
 * - after `now`: reserved, and `tail` has moved to that instant with the tokens taken there;
 * - {@link REFUSED} (test with `Number.isNaN`) when the grant would come more than `maxWait` ms after
 *   `now`: `tail` has only been brought up to `now`, which changes nothing observable.
 *
 * Mutates `tail` in place (no allocation: this is the hot path of every bucket).
 */
export function decide(tail: LimitState, now: number, count: number, maxWait: number): number {
  tail.advance(now);
  // Short of tokens, the grant comes at a later step, so after `now`: with no wait allowed, that is
  // all there is to know (the hot path of a refused tryGetToken()).
  // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, a fast path: without it the general path below refuses the same requests (their instant lies after now, and maxWait is 0)
  if (tail.tokens < count && maxWait <= 0) return REFUSED;
  const at = tail.grantTime(count);
  // Stryker disable next-line ConditionalExpression,EqualityOperator,BlockStatement: equivalent, a fast path: at a due instant grantNext() below moves no step and takes the same tokens, returning the same instant
  if (at <= now) {
    tail.take(count);
    return at;
  }
  if (at - now > maxWait) return REFUSED;
  tail.grantNext(count);
  return at;
}

/**
 * {@link decide} with `maxWait` 0, as `tryGetToken()` asks it, answered as a boolean: returns true
 * when a request of `count` tokens (1 ≤ count ≤ `tail.capacity`) arriving at clock reading `now` (ms)
 * is granted now, having taken the tokens from `tail`; false when `decide(tail, now, count, 0)` would
 * return REFUSED, with `tail` only brought up to `now`. The hot path of every `tryGetToken()` and of a
 * `getToken()` granted at once: it forms no grant instant, which those callers would discard.
 * `test/decision.table.test.ts` checks it against `decide()` on every request of the table.
 */
export function takeNow(tail: LimitState, now: number, count: number): boolean {
  tail.advance(now);
  if (!tail.grantsNow(count, now)) return false;
  tail.take(count);
  return true;
}

/**
 * Returns the ms from clock reading `now` until a request of `count` tokens arriving now behind every
 * reservation in `tail` would be granted (0: at once). Brings `tail` up to `now` and takes nothing.
 */
export function peekWait(tail: LimitState, now: number, count: number): number {
  tail.advance(now);
  return msUntil(tail.grantTime(count), now);
}

/**
 * Returns the tokens a request arriving at clock reading `now` could take at once: what `tail` holds,
 * or 0 while a reservation is outstanding (the tail then lies after `now`). Brings `tail` up to `now`.
 */
export function peekAvailable(tail: LimitState, now: number): number {
  tail.advance(now);
  return tail.grantTime(1) <= now ? tail.tokens : 0;
}

/**
 * Pauses the limits in `state` until clock reading `until` (ms): nothing can be granted before it.
 * Through the pause the limits refill on their unchanged schedules, but at its end each holds at most
 * one refill step's tokens (its `refillTokens`), so the bucket resumes at its steady rate with no
 * burst: after a 429 from upstream, a burst would likely earn the next one. A limit that refills its
 * whole capacity at once (10,000 a day) thus keeps its budget. Pausing again with an earlier `until`
 * than a pause in force changes nothing: a pause is only ever extended.
 *
 * `state` must hold no reservation (it is the state before every queued caller): the callers that
 * had reserved are then decided again on it, in order, so they keep their places.
 */
export function pauseUntil(state: LimitState, until: number): void {
  state.pauseUntil(until);
}

/**
 * Gives back reservations: `from` is where the tail stood just before the first one given back
 * (nobody may have reserved on top of the ones given back but the requests of `counts`), and `counts`
 * are the requests still wanted that had reserved behind them, in order. Re-decides each of them at
 * `now` with no `maxWait` (each lands no later than it did) and writes its new grant instant to
 * `instants[i]`. Leaves `from` at the new tail.
 */
export function replay(from: LimitState, now: number, counts: readonly number[], instants: number[]): void {
  for (let i = 0; i < counts.length; i += 1) {
    instants[i] = decide(from, now, counts[i] as number, Number.POSITIVE_INFINITY);
  }
}
