import {
  grantNext,
  refill,
  stepTime,
  stepsAt,
  stepsUntil,
  type BucketPosition,
  type RefillSchedule,
} from './refill.js';

/** {@link LimitState.resumeAt} when no pause is in force. */
export const NO_PAUSE = Number.NEGATIVE_INFINITY;

/**
 * LimitState is where a bucket stands on its refill schedule or schedules: the whole tokens of one
 * limit ({@link SingleLimit}) or of several limits that every grant draws from at the same instant
 * ({@link MultiLimit}). It is pure arithmetic on clock readings passed in; it never reads a clock.
 *
 * All instants are clock readings in ms; all counts are whole tokens and never above
 * {@link LimitState.capacity} (callers check).
 */
export interface LimitState {
  /** The largest count one grant can take: the smallest capacity of the limits. */
  readonly capacity: number;
  /** Whole tokens every limit holds as of the last {@link advance} or grant (their minimum). */
  readonly tokens: number;
  /** Clock reading of the next step of any limit: before it, {@link advance} changes nothing. */
  readonly nextStepAt: number;
  /** Whether every limit holds its full capacity (never while a pause may still be in force). */
  readonly full: boolean;
  /** Takes `count` tokens from every limit now. The caller has checked `tokens >= count`. */
  take(count: number): void;
  /**
   * Returns the clock reading at which every limit holds `count` tokens, counting only the refills
   * still to come; a reading at or before the current position when they already do.
   */
  grantTime(count: number): number;
  /**
   * Whether `grantTime(count) <= now`: the tokens are there at clock reading `now` (ms). Computes no
   * instant (the hot path of a take now).
   */
  grantsNow(count: number, now: number): boolean;
  /** Moves forward to {@link grantTime}`(count)`, takes the tokens there and returns that instant. */
  grantNext(count: number): number;
  /** Adds the refills of every step up to clock reading `now`; a reading in the past changes nothing. */
  advance(now: number): void;
  /**
   * Clock reading before which nothing is granted (a pause's end, ms), or `-Infinity` when no pause is
   * in force; {@link grantTime} and {@link grantNext} never return an instant before it. Cleared by the
   * first {@link advance} that moves past it.
   */
  readonly resumeAt: number;
  /**
   * Pauses until clock reading `until` (ms): nothing is granted before it, and at it each limit holds
   * what it would hold then, capped at one refill step (its `refillTokens`), so the bucket resumes at
   * its steady rate with no burst. Each limit keeps its schedule. An `until` before a pause in force
   * changes nothing. Called on the state before any reservation, never on a projection through a queue.
   */
  pauseUntil(until: number): void;
  /** Returns an independent copy (for projections through the queue). */
  clone(): LimitState;
  /** Every limit's schedule, in the order given at construction. */
  schedules(): readonly RefillSchedule[];
  /** Every limit's tokens, in the order given at construction. */
  tokensByLimit(): number[];
}

/**
 * SingleLimit is the state of a bucket with one limit: a {@link BucketPosition} on one
 * {@link RefillSchedule}. The schedule object is not copied, so buckets that share a configuration and
 * an origin (the keys of a keyed bucket) share one schedule.
 */
export class SingleLimit implements LimitState, BucketPosition {
  /** The schedule's capacity, copied to a field of its own for the hot path. */
  readonly capacity: number;
  /** Clock reading of step {@link step} (ms), kept beside it for the hot path of {@link grantsNow}. */
  stepAt: number;
  nextStepAt: number;
  resumeAt = NO_PAUSE;

  /**
   * @param schedule the refill schedule (origin included)
   * @param tokens whole tokens held just after step `step` (0..capacity)
   * @param step the schedule step the position is at
   */
  constructor(
    readonly schedule: RefillSchedule,
    public tokens: number,
    public step: number,
  ) {
    this.capacity = schedule.capacity;
    this.stepAt = stepTime(schedule, step);
    this.nextStepAt = stepTime(schedule, step + 1);
  }

  /** Puts the limit at `tokens` tokens just after step `step` (a position loaded from a store). */
  place(tokens: number, step: number): void {
    this.tokens = tokens;
    this.step = step;
    this.stepAt = stepTime(this.schedule, step);
    this.nextStepAt = stepTime(this.schedule, step + 1);
  }

  get full(): boolean {
    return this.tokens >= this.capacity && this.resumeAt === NO_PAUSE;
  }

  take(count: number): void {
    this.tokens -= count;
  }

  grantTime(count: number): number {
    const at = stepTime(this.schedule, this.step + stepsUntil(this.schedule, this.tokens, count));
    return at < this.resumeAt ? this.resumeAt : at;
  }

  grantsNow(count: number, now: number): boolean {
    // grantTime(count) with no step to wait for: the current step's instant, or the pause's end.
    return count <= this.tokens && this.resumeAt <= now && this.stepAt <= now;
  }

  grantNext(count: number): number {
    const at = stepTime(this.schedule, grantNext(this.schedule, this, count));
    this.stepAt = at;
    return at < this.resumeAt ? this.resumeAt : at;
  }

  advance(now: number): void {
    // On every decision: the test alone, so that the compiler inlines it; the refill is out of line.
    if (now >= this.nextStepAt) this.refillTo(now);
  }

  /** {@link advance} once a step has come by clock reading `now`. */
  private refillTo(now: number): void {
    if (this.resumeAt <= now) this.resumeAt = NO_PAUSE;
    // Never backwards (a projection may stand at a step still to come); no step, no change.
    const current = Math.max(this.step, stepsAt(this.schedule, now));
    this.tokens = refill(this.schedule, this.tokens, current - this.step);
    this.step = current;
    this.stepAt = stepTime(this.schedule, current);
    this.nextStepAt = stepTime(this.schedule, current + 1);
  }

  /** Moves to the step in force at clock reading `at` (never backwards), without updating nextStepAt. */
  advanceTo(at: number): void {
    const step = Math.max(this.step, stepsAt(this.schedule, at));
    this.tokens = refill(this.schedule, this.tokens, step - this.step);
    this.step = step;
    this.stepAt = stepTime(this.schedule, step);
  }

  pauseUntil(until: number): void {
    if (until <= this.resumeAt) return;
    this.advanceTo(until);
    this.tokens = Math.min(this.tokens, this.schedule.refillTokens);
    this.resumeAt = until;
    this.nextStepAt = stepTime(this.schedule, this.step + 1);
  }

  clone(): SingleLimit {
    const copy = new SingleLimit(this.schedule, this.tokens, this.step);
    copy.nextStepAt = this.nextStepAt;
    copy.resumeAt = this.resumeAt;
    return copy;
  }

  schedules(): readonly RefillSchedule[] {
    return [this.schedule];
  }

  tokensByLimit(): number[] {
    return [this.tokens];
  }
}

/**
 * MultiLimit is the state of a bucket with several limits, such as "10 per second and 1,000 per hour":
 * a grant of `count` happens at the first instant at which every limit holds `count` tokens, and takes
 * `count` from each of them at that instant. Each limit keeps its own exact schedule.
 */
export class MultiLimit implements LimitState {
  readonly capacity: number;
  tokens: number;
  nextStepAt: number;
  resumeAt = NO_PAUSE;

  /** @param limits two or more limits; the array is owned by this object from now on */
  constructor(private readonly limits: SingleLimit[]) {
    let capacity = Number.POSITIVE_INFINITY;
    for (const limit of limits) capacity = Math.min(capacity, limit.capacity);
    this.capacity = capacity;
    this.tokens = 0;
    this.nextStepAt = 0;
    this.refresh();
  }

  get full(): boolean {
    if (this.resumeAt !== NO_PAUSE) return false;
    for (const limit of this.limits) if (!limit.full) return false;
    return true;
  }

  take(count: number): void {
    for (const limit of this.limits) limit.take(count);
    this.tokens -= count;
  }

  grantTime(count: number): number {
    let at = this.resumeAt;
    for (const limit of this.limits) at = Math.max(at, limit.grantTime(count));
    return at;
  }

  grantsNow(count: number, now: number): boolean {
    return count <= this.tokens && this.grantTime(count) <= now;
  }

  grantNext(count: number): number {
    const at = this.grantTime(count);
    for (const limit of this.limits) {
      // Every limit reaches `count` by `at`: move each to the step in force then, and take.
      limit.advanceTo(at);
      limit.take(count);
    }
    this.refresh();
    return at;
  }

  advance(now: number): void {
    // On every decision: the test alone, so that the compiler inlines it; the refill is out of line.
    if (now >= this.nextStepAt) this.refillTo(now);
  }

  /** {@link advance} once a step has come by clock reading `now`. */
  private refillTo(now: number): void {
    if (this.resumeAt <= now) this.resumeAt = NO_PAUSE;
    for (const limit of this.limits) limit.advance(now);
    this.refresh();
  }

  pauseUntil(until: number): void {
    if (until <= this.resumeAt) return;
    for (const limit of this.limits) {
      limit.advanceTo(until);
      limit.tokens = Math.min(limit.tokens, limit.schedule.refillTokens);
    }
    this.resumeAt = until;
    this.refresh();
  }

  clone(): MultiLimit {
    const copy = new MultiLimit(this.limits.map((limit) => limit.clone()));
    copy.resumeAt = this.resumeAt;
    return copy;
  }

  schedules(): readonly RefillSchedule[] {
    return this.limits.map((limit) => limit.schedule);
  }

  tokensByLimit(): number[] {
    return this.limits.map((limit) => limit.tokens);
  }

  private refresh(): void {
    let tokens = Number.POSITIVE_INFINITY;
    let nextStepAt = Number.POSITIVE_INFINITY;
    for (const limit of this.limits) {
      tokens = Math.min(tokens, limit.tokens);
      limit.nextStepAt = stepTime(limit.schedule, limit.step + 1);
      nextStepAt = Math.min(nextStepAt, limit.nextStepAt);
    }
    this.tokens = tokens;
    this.nextStepAt = nextStepAt;
  }
}

/**
 * Builds the state of limits on the given schedules, each at the step in force at clock reading `now`
 * with the tokens it would hold had it started at its origin with `startTokens[i]`. With one schedule
 * the result is a {@link SingleLimit}, the fast case.
 */
export function limitStateAt(
  schedules: readonly RefillSchedule[],
  startTokens: readonly number[],
  now: number,
): LimitState {
  const at = (schedule: RefillSchedule, start: number | undefined): SingleLimit => {
    const step = stepsAt(schedule, now);
    return new SingleLimit(schedule, refill(schedule, start ?? schedule.capacity, step), step);
  };
  const [only] = schedules;
  // One limit is the common case (every new key of a keyed bucket): no array, no MultiLimit.
  if (schedules.length === 1 && only !== undefined) return at(only, startTokens[0]);
  return new MultiLimit(schedules.map((schedule, i) => at(schedule, startTokens[i])));
}
