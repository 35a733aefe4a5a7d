import { decide } from '../core/decide.js';
import { stepsAt } from '../core/refill.js';
import { MaxWaitExceededError } from '../errors.js';
import type { ResolvedLimit } from '../options/bucketOptions.js';
import type { SharedState } from './SharedState.js';
import type { Refusal, SharedWaiter } from './SharedWaiter.js';

/**
 * The critical sections that undo or re-plan reservations already written, each on a
 * {@link SharedState} with the lock held (taken here by {@link giveBack}, by the caller for the others):
 * an abort's give-back, `reconfigure()`, `pause()`, and the re-plan of this thread's queue after another
 * thread's change. Each decides with the core (`src/core/decide.ts`) at an explicit clock reading; none
 * reads a clock or sets a timer.
 */

/**
 * Whether `chain` (this thread's reservations, in order) can be withdrawn: each was written right after
 * the one before, the last is the latest write to the state, and the configuration has not changed.
 * Then nobody else has drawn on its tokens, and restoring the first one's `before` undoes them all.
 */
function withdrawable(state: SharedState, chain: readonly SharedWaiter[]): boolean {
  const first = chain[0];
  if (first === undefined || first.generation !== state.generation) return false;
  for (let i = 1; i < chain.length; i += 1) {
    if ((chain[i] as SharedWaiter).sequence !== first.sequence + i) return false;
  }
  return (chain[chain.length - 1] as SharedWaiter).sequence === state.sequence;
}

/**
 * Re-decides `waiters` (in order) at clock reading `now` on the state in force, as a reconfiguration
 * re-plans a queue: one above the capacity is refused with `RangeError`, one whose grant would break
 * its `maxWait` (counted from its call) with `MaxWaitExceededError`; the others are reserved again,
 * each with its new `grantAt` (at or before `now`: granted now). Lock held. Returns the refusals.
 */
function redecide(state: SharedState, now: number, waiters: readonly SharedWaiter[]): Refusal[] {
  const refusals: Refusal[] = [];
  for (const waiter of waiters) {
    const tail = state.read();
    if (waiter.tokens > tail.capacity) {
      state.count('overCapacity');
      const message = `count must not exceed the new capacity (${tail.capacity}), received ${waiter.tokens}`;
      refusals.push([waiter, new RangeError(message)]);
      continue;
    }
    tail.advance(now);
    const at = tail.grantTime(waiter.tokens);
    const extras = waiter.extras;
    if (extras !== undefined && at - extras.calledAt > extras.maxWait) {
      state.count('maxWaitExceeded');
      refusals.push([waiter, new MaxWaitExceededError(at - extras.calledAt, extras.maxWait)]);
      continue;
    }
    if (tail.grantTime(0) <= now) state.chainReserved = 0;
    waiter.before = state.current();
    waiter.grantAt = decide(tail, now, waiter.tokens, Number.POSITIVE_INFINITY);
    waiter.sequence = state.write();
    waiter.generation = state.generation;
    if (waiter.grantAt > now) state.chainReserved += waiter.tokens;
  }
  return refusals;
}

/**
 * Gives back the tokens of this thread's `dropped` waiters (aborted, in queue order) at clock reading
 * `now`, if nobody else has drawn on them: `queue` is this thread's waiters still queued, in order.
 * Then the ones behind the first dropped one are re-decided from where it stood and move up (their
 * `grantAt` changes); otherwise the dropped reservations stay taken and their instants pass unused.
 * Counts the aborts. Returns whether the tokens went back (never on an invalid reading, `now` undefined).
 */
export function giveBack(
  state: SharedState,
  now: number | undefined,
  dropped: readonly SharedWaiter[],
  queue: Iterable<SharedWaiter>,
): boolean {
  const first = dropped[0];
  if (first === undefined) return false;
  state.lock();
  try {
    state.count('aborted', dropped.length);
    const chain = [...dropped];
    for (const waiter of queue) if (waiter.sequence > first.sequence) chain.push(waiter);
    chain.sort((a, b) => a.sequence - b.sequence);
    if (now === undefined || !withdrawable(state, chain)) return false;
    const from = state.restore(first.before);
    // Every write since `first` was this thread's: undone, they are numbered again from there, so that
    // the reservation before `first`, or the last kept one, is again the latest write.
    state.rewind(first.sequence - 1);
    const gone = new Set(dropped);
    let kept = 0;
    for (const waiter of chain) {
      if (gone.has(waiter)) continue;
      kept += 1;
      waiter.before = state.current();
      waiter.grantAt = decide(from, now, waiter.tokens, Number.POSITIVE_INFINITY);
      waiter.sequence = state.write();
    }
    if (kept === 0) {
      state.write();
      state.rewind(first.sequence - 1);
    }
    return true;
  } finally {
    state.unlock();
  }
}

/**
 * Puts `limits` in force at clock reading `now` (lock held; this thread's queue `mine`, in order, has
 * been granted up to `now`). The tokens carry over, capped at the new capacities, from where the limits
 * stand at `now` once this thread's reservations are withdrawn: exactly, when no other thread has a
 * caller queued; otherwise the tokens promised to those callers stay promised, as a debt (negative
 * tokens) that their threads give back when they re-plan. A limit with no old counterpart starts full.
 * Then re-plans `mine` as {@link redecide} does; returns the refusals.
 */
export function reconfigure(
  state: SharedState,
  now: number,
  limits: readonly ResolvedLimit[],
  mine: readonly SharedWaiter[],
): Refusal[] {
  const old = state.schedules();
  const withdrawn = withdrawable(state, mine);
  const base = withdrawn ? state.restore((mine[0] as SharedWaiter).before) : state.read();
  base.advance(now);
  const positions = state.current();
  const debt = -state.chainReserved;
  const born = state.generation + 1;
  const carried = limits.map((limit, i) => {
    const schedule = old[i];
    if (schedule === undefined) return limit.capacity;
    const tokens = positions[2 * i] as number;
    const step = positions[2 * i + 1] as number;
    const current = stepsAt(schedule, now);
    // Ahead of now: reservations of other threads are outstanding. Without the refills still to come
    // (and never owing more than was reserved) the limit owes what it has promised them.
    const owed = step > current ? Math.max(tokens - (step - current) * schedule.refillTokens, debt) : tokens;
    return Math.min(limit.capacity, owed);
  });
  state.replace(
    limits,
    carried,
    limits.map((_, i) => (i < old.length ? state.bornAt(i) : born)),
    now,
  );
  if (!withdrawn) for (const waiter of mine) state.giveBackTokens(waiter.tokens, waiter.generation);
  state.keepPause(now);
  return redecide(state, now, mine);
}

/**
 * Pauses the bucket for every thread until clock reading `until` (lock held; this thread's queue
 * `mine`, in order, has been granted up to `now`). Every reservation outstanding is voided: the state
 * goes back to where the limits stand at `now` without them (exactly when only this thread has callers
 * queued; otherwise without the tokens promised to other threads' callers, and never below 0), the
 * core's `pauseUntil()` runs on that, and each thread's queue is decided again on it in order, this
 * one's now and the others' when they see the new generation (their tokens are not given back). A
 * pause that ends before the one in force changes nothing. Returns this thread's refusals.
 */
export function pause(state: SharedState, now: number, until: number, mine: readonly SharedWaiter[]): Refusal[] {
  if (until <= state.resumeAt) return [];
  const base = withdrawable(state, mine) ? state.restore((mine[0] as SharedWaiter).before) : state.read();
  base.advance(now);
  state.pause(now, until);
  return redecide(state, now, mine);
}

/**
 * Re-plans this thread's queue `mine` (in order) after another thread reconfigured (lock held): a
 * waiter already due when the reconfiguration came keeps its grant; the others give their tokens back
 * and are re-decided, in order, as {@link redecide} does. Returns the refusals.
 */
export function replan(state: SharedState, now: number, mine: readonly SharedWaiter[]): Refusal[] {
  const stale: SharedWaiter[] = [];
  for (const waiter of mine) {
    if (waiter.generation === state.generation) continue;
    const reconfiguredAt = state.reconfiguredAt(waiter.generation + 1) ?? now;
    // Due before the change: granted as planned (its generation stays, so its tokens never go back).
    if (waiter.grantAt > reconfiguredAt) {
      state.giveBackTokens(waiter.tokens, waiter.generation);
      stale.push(waiter);
    }
  }
  return redecide(state, now, stale);
}
