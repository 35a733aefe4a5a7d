import { globalClock, readClock, type Clock } from '../clock.js';

/**
 * Timeline is the time an in-process bucket lives on: the readings of its clock, re-based whenever
 * that clock changes under the bucket, so that the change neither mints tokens nor holds them back.
 *
 * A bucket's schedule is counted in its timeline's ms. Normally that is the clock's own reading. But
 * the default clock is `globalThis` as it is at each use, and tests install and remove fake timers
 * under buckets that already exist: a bucket created at module level, 1,200 ms into the test run, would
 * otherwise see the fake clock start at 0 and wait 1,200 ms for its first step. So when the source of
 * the readings changes (a fake-timers clock installed or removed, another global `performance`), or a
 * reading goes back in time, the timeline re-bases: time goes on from its last reading (moved back to a
 * whole number of ms after the first one, never forward), as if no time had passed across the change. Tokens held and the phase within the
 * current step are kept; nothing is minted.
 *
 * One timeline is shared by every key of a keyed bucket. It never sets timers: delays are differences
 * of readings, which a re-base does not change.
 */
export class Timeline {
  /**
   * The timeline reads `(reading - base) + anchor`: `anchor` is where the timeline stood (ms) when the
   * clock read `base`. Computed in that order, a whole number of ms after the base lands exactly on
   * `anchor + n`, which is how a schedule whose origin is the anchor computes its steps: no rounding
   * difference can make a step look a hair early or late after a re-base.
   */
  private base = 0;
  private anchor = 0;
  /** The first reading on the timeline (ms): the schedule's origin for a new bucket. */
  private first = 0;
  /** The last reading on the timeline (ms), or -Infinity before the first. */
  private last = Number.NEGATIVE_INFINITY;
  /** What produced the last reading: the injected clock, a fake-timers clock, or a `performance` object. */
  private source: unknown = undefined;
  /**
   * How many times the source of the readings has changed since the first reading. A bucket that sees
   * it change re-arms its timers on the clock now in force (timers set on the previous one would fire
   * on the wrong timeline, or never, under fake timers).
   */
  sourceChanges = 0;

  /** @param injected the clock given to the bucket, or undefined for the default one ({@link globalClock}) */
  constructor(private readonly injected: Clock | undefined) {}

  /** The clock to read and to set timers on: the injected one, or {@link globalClock} right now. */
  get clock(): Clock {
    return this.injected ?? globalClock();
  }

  /**
   * Returns the current reading on the timeline (ms), re-basing first if the source changed or the
   * reading went back. Throws `InvalidClockReadingError` on an invalid reading (see `readClock`),
   * changing nothing.
   */
  now(): number {
    const clock = this.injected ?? globalClock();
    const reading = readClock(clock);
    // The default clock's readings come from the fake-timers clock (globalClock returns it) or from
    // the global `performance`, which a test may also replace on its own.
    const source = clock === globalThis ? globalThis.performance : clock;
    let now = reading - this.base + this.anchor;
    if (source !== this.source || now < this.last) {
      if (this.last === Number.NEGATIVE_INFINITY) {
        this.first = now;
      } else {
        // Resume from the last reading, moved back to a whole number of ms after the first one (the
        // schedule's origin): never forward, so nothing is minted, and a bucket driven by fake timers
        // after the switch sees its steps at whole ms again, as a bucket created under them would.
        this.base = reading;
        this.anchor = this.first + Math.floor(this.last - this.first);
        now = this.anchor;
        if (source !== this.source) this.sourceChanges += 1;
      }
      this.source = source;
    }
    this.last = now;
    return now;
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
