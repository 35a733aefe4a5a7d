/**
 * The refill schedule as pure arithmetic: no clock, no state, only numbers in and numbers out.
 *
 * Tokens arrive in whole steps: `refillTokens` at each instant `origin + k × refillInterval` for
 * k = 1, 2, 3, …, never above `capacity`. A bucket's state is the pair (tokens, step): how many whole
 * tokens it held just after step `step`. All token counts are integers and every step instant is
 * computed afresh from `origin` and `k`, so nothing accumulates rounding however long the bucket lives.
 */
export interface RefillSchedule {
  /** Most tokens the bucket holds. A positive safe integer. */
  readonly capacity: number;
  /** Tokens added at each step. A positive safe integer. */
  readonly refillTokens: number;
  /** Milliseconds between steps. A positive finite number. */
  readonly refillInterval: number;
  /** Clock reading (ms) at which the schedule starts; step k happens at `origin + k × refillInterval`. */
  readonly origin: number;
}

/** Returns the clock reading (ms) at which step `step` happens. */
export function stepTime(schedule: RefillSchedule, step: number): number {
  return schedule.origin + step * schedule.refillInterval;
}

/**
 * Returns the number of steps that have happened at clock reading `now`: the largest k with
 * `stepTime(k) <= now`, or 0 before the first step. Consistent with {@link stepTime} even where
 * floating-point division alone would land one step off.
 */
export function stepsAt(schedule: RefillSchedule, now: number): number {
  const elapsed = now - schedule.origin;
  if (!(elapsed > 0)) return 0;
  let step = Math.floor(elapsed / schedule.refillInterval);
  if (stepTime(schedule, step) > now) step -= 1;
  else if (stepTime(schedule, step + 1) <= now) step += 1;
  return step;
}

/** Returns the tokens held after `steps` more steps starting from `tokens`, capped at capacity. */
export function refill(schedule: RefillSchedule, tokens: number, steps: number): number {
  if (steps <= 0) return tokens;
  const missing = schedule.capacity - tokens;
  // Compare in steps, not tokens, so `steps × refillTokens` never has to be formed when it is huge.
  if (steps >= Math.ceil(missing / schedule.refillTokens)) return schedule.capacity;
  return tokens + steps * schedule.refillTokens;
}

/** Returns how many more steps must happen before `tokens` grows to at least `count` (0 if it has). */
export function stepsUntil(schedule: RefillSchedule, tokens: number, count: number): number {
  return count <= tokens ? 0 : Math.ceil((count - tokens) / schedule.refillTokens);
}

/** A position on the schedule: `tokens` whole tokens held just after step `step`. */
export interface BucketPosition {
  tokens: number;
  step: number;
}

/**
 * Moves `position` forward to where a FIFO caller asking for `count` tokens (count ≤ capacity) is
 * granted, and takes its tokens: the grant happens at the first step at which the tokens suffice.
 * Returns the step of the grant. Mutates `position` in place (this runs once per waiter in a drain).
 */
export function grantNext(schedule: RefillSchedule, position: BucketPosition, count: number): number {
  const wait = stepsUntil(schedule, position.tokens, count);
  if (wait > 0) {
    position.tokens = refill(schedule, position.tokens, wait);
    position.step += wait;
  }
  position.tokens -= count;
  return position.step;
}

/** Returns the ms from clock reading `now` until clock reading `at`, or 0 if it has come. */
export function msUntil(at: number, now: number): number {
  const wait = at - now;
  return wait > 0 ? wait : 0;
}
