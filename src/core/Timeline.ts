import { globalClock, nodeMockDate, type Clock } from '../clock.js';
import { InvalidClockReadingError, MAX_CLOCK_READING } from '../errors.js';

/**
 * Timeline is the time an in-process bucket lives on: the readings of its clock, re-based whenever
 * that clock changes under the bucket, so that the change neither mints tokens nor holds them back.
 *
 * A bucket's schedule is counted in its timeline's ms: the ms since its creation, as its clock measures
 * them (the timeline reads 0 at the first reading). But the default clock is `globalThis` as it is at each use, and tests install and remove fake timers
 * under buckets that already exist: a bucket created at module level, 1,200 ms into the test run, would
 * otherwise see the fake clock start at 0 and wait 1,200 ms for its first step. So when the source of
 * the readings changes (a fake-timers clock installed or removed, another global `performance`), or a
 * reading goes back in time, the timeline re-bases: time goes on from its last reading (moved back to a
 * whole number of ms since the bucket's creation, never forward), as if no time had passed across the
 * change. Tokens held and the phase within the current step are kept; nothing is minted.
 *
 * One timeline is shared by every key of a keyed bucket. It never sets timers: delays are differences
 * of readings, which a re-base does not change.
 */
export class Timeline {
  /**
   * The timeline reads `(reading - base) + anchor`: `anchor` is where the timeline stood (ms) when the
   * clock read `base`. It starts at 0 at the first reading (the bucket's creation, its schedule's
   * origin), so step instants are small multiples of the interval, and after a re-base the anchor is a
   * whole number of ms: on a clock that reads whole ms (fake timers), every reading, and every step of a
   * whole-ms interval, is an exact integer, with no rounding to make a step look a hair late.
   */
  private base = 0;
  private anchor = 0;
  /** The last reading on the timeline (ms), or -Infinity before the first. */
  private last = Number.NEGATIVE_INFINITY;
  /**
   * What produced the last reading, for the default clock: the `performance` object read (the global
   * one, or a fake-timers clock's). An injected clock is one source for good.
   */
  private source: unknown = undefined;

  /** @param injected the clock given to the bucket, or undefined for the default one ({@link globalClock}) */
  constructor(private readonly injected: Clock | undefined) {}

  /** The clock to read and to set timers on: the injected one, or {@link globalClock} right now. */
  get clock(): Clock {
    return this.injected ?? globalClock();
  }

  /**
   * Returns the current reading on the timeline (ms), re-basing first if the source changed or the
   * reading went back (and then calling {@link onSourceChange} for a changed source). Throws
   * `InvalidClockReadingError` on an invalid reading (see `readClock`), changing nothing.
   */
  now(): number {
    // On every call of every bucket: one test for the common case, everything rare out of line.
    const injected = this.injected;
    let source: { now(): number } | Clock;
    let reading: unknown;
    if (injected === undefined) {
      // The default clock (see globalClock): the performance of the fake-timers clock that the global
      // timers belong to, or else the global performance (which a test may also replace on its own).
      // The bare global `performance` is a global load V8 caches by its property cell, cheaper on
      // this path than a property load from globalThis; it still sees a replaced global.
      const timer = globalThis.setTimeout as { clock?: unknown };
      const clockPerformance =
        timer.clock === undefined && !nodeMockDate() ? performance : this.mockedClock(timer).performance;
      source = clockPerformance;
      reading = clockPerformance.now();
    } else {
      source = injected;
      reading = injected.performance.now();
    }
    const now = (reading as number) - this.base + this.anchor;
    // `now >= last` also refuses NaN, -Infinity and any reading below the base (itself ≥ -2^42).
    if (typeof reading === 'number' && source === this.source && now >= this.last && reading <= MAX_CLOCK_READING) {
      this.last = now;
      return now;
    }
    return this.rebase(source, reading);
  }

  /**
   * The global `setTimeout` last seen marked with a fake-timers `clock` property, that property's value,
   * and the clock {@link globalClock} found for them: while the same function with the same mark stays
   * installed, a reading skips globalClock()'s checks (an `Object.hasOwn()` on the fake function and
   * loads from its clock: on fake timers a queued caller took 1,917 instructions with them, 1,539
   * without, bench/instructions.mjs --only enqueue). Held by the bucket, so for no longer than the
   * bucket, whose timers hold that clock anyway.
   */
  private fakeTimer: unknown = undefined;
  private fakeMark: unknown = undefined;
  private fakeClock: Clock | undefined = undefined;

  /**
   * The default clock while the global timers are mocked (`timer`, the global `setTimeout`, carries a
   * fake-timers `clock` mark, or node:test has mocked `Date`): {@link globalClock}, remembered for the
   * same function with the same mark. Out of line, so that {@link now} stays small enough to be inlined.
   */
  private mockedClock(timer: { clock?: unknown }): Clock {
    const mark = timer.clock;
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent: with no mark (node:test's Date) the clock remembered for the function is the one globalClock() gives
    if (mark === undefined) return globalClock();
    if (timer === this.fakeTimer && mark === this.fakeMark) return this.fakeClock as Clock;
    const clock = globalClock();
    this.fakeTimer = timer;
    this.fakeMark = mark;
    this.fakeClock = clock;
    return clock;
  }

  /**
   * Called once a reading shows that the source of the readings changed (fake timers installed or
   * removed): the owner re-arms its timers on the clock now in force, since timers set on the previous
   * one would fire on the wrong timeline, or never. Set by the bucket that owns the timeline.
   */
  onSourceChange: (() => void) | undefined = undefined;

  /**
   * The slow path of {@link now}: throws `InvalidClockReadingError` on an invalid reading, takes the
   * first reading, and re-bases the timeline at `reading` of `source` when the source changed or the
   * reading went back (see the class comment). Returns the timeline's reading.
   */
  private rebase(source: unknown, reading: unknown): number {
    if (!(typeof reading === 'number' && reading <= MAX_CLOCK_READING && reading >= -MAX_CLOCK_READING)) {
      return refuse(reading);
    }
    // A valid reading of the same source that did not go back took the fast path in now(): from here
    // on, the source changed or the reading went back.
    const changed = source !== this.source;
    this.source = source;
    this.base = reading;
    if (this.last === Number.NEGATIVE_INFINITY) {
      this.last = 0; // the first reading: the timeline starts at 0
      return 0;
    }
    // Resume from the last reading, moved back to a whole number of ms since the first one (the
    // schedule's origin): never forward, so nothing is minted, and a bucket driven by fake timers after
    // the switch sees its steps at whole ms again, as a bucket created under them would.
    this.anchor = Math.floor(this.last);
    this.last = this.anchor;
    if (changed) this.onSourceChange?.();
    return this.anchor;
  }

  /** The last valid reading on the timeline (ms): what getters report as of when the clock breaks. */
  get lastReading(): number {
    return this.last;
  }

  /** {@link now}, or undefined when the reading is invalid (for getters and timer callbacks). */
  tryNow(): number | undefined {
    try {
      return this.now();
    } catch {
      return undefined;
    }
  }
}

/** Throws the refusal of an invalid reading (out of line: the hot path only tests). */
function refuse(reading: unknown): never {
  throw new InvalidClockReadingError(reading);
}
