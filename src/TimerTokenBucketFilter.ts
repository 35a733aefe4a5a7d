import { ClockTimer, MAX_TIMER_DELAY } from './clock.js';
import { BucketBase } from './core/BucketBase.js';
import { stepTime, stepsAt } from './core/refill.js';
import { BucketClosedError, BucketNotStartedError } from './errors.js';
import type { TokenBucketOptions } from './TokenBucketFilter.js';

/** How late (ms) an interval tick may run behind the schedule before the interval is re-aligned. */
const REALIGN_AFTER_MS = 1;

/**
 * TimerTokenBucketFilter is a token bucket driven by a refill timer, like the lesson's daemon thread:
 * a `setInterval` adds the tokens of each step and resolves the FIFO queue of waiting `getToken()`
 * promises in order.
 *
 * The constructor never starts the timer, so no callback can see a half-built object; `start()` does,
 * and `TokenBucketFilterFactory.create({ kind: 'timer', ... })` constructs and then starts it. Before
 * `start()`, calls that need no waiting work, and a `getToken()` that would have to wait rejects with
 * `BucketNotStartedError` rather than hang.
 *
 * Each tick adds the tokens of every step the clock says has passed on the fixed schedule, not one
 * step per tick, and when real timers run late the interval is re-aligned to the schedule, so the rate
 * never drifts. The interval is `unref`'d while nobody waits (it never keeps a process alive by
 * itself) and holds the process only while callers are queued. Grants happen at exactly the same
 * instants as {@link LazyTokenBucketFilter}'s; this kind costs one timer per bucket for as long as the
 * bucket is open, so `close()` it when done.
 *
 * @example
 * const bucket = new TimerTokenBucketFilter({ capacity: 1 });
 * bucket.start();
 * await bucket.getToken();
 * bucket.close();
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid.
 */
export class TimerTokenBucketFilter extends BucketBase {
  private refillTimer: ClockTimer | undefined = undefined;
  private started = false;

  constructor(options: TokenBucketOptions) {
    super(options, 'timer');
  }

  /** Whether `start()` has been called (and `close()` has not). */
  get running(): boolean {
    return this.started && !this.isClosed;
  }

  /**
   * Starts the refill timer. Calling it again does nothing. Returns the bucket, for chaining.
   * Throws `BucketClosedError` after `close()`.
   */
  start(): this {
    if (this.isClosed) throw new BucketClosedError();
    if (this.started) return this;
    this.started = true;
    this.arm(this.clock.performance.now());
    return this;
  }

  protected headChanged(): void {
    this.refillTimer?.keepAlive(this.queue.length > 0);
  }

  protected stopTimers(): void {
    this.refillTimer?.cancel();
    this.refillTimer = undefined;
  }

  protected override refuseWait(): Error | undefined {
    return this.started ? undefined : new BucketNotStartedError();
  }

  /**
   * Sets the timer for the next step after `now`: a `setInterval` when `now` is on the schedule (within
   * {@link REALIGN_AFTER_MS}), otherwise a one-shot timer to the next step, which then arms again.
   */
  private arm(now: number): void {
    const { refillInterval } = this.schedule;
    const lastStepAt = stepTime(this.schedule, stepsAt(this.schedule, now));
    const onSchedule = now - lastStepAt < REALIGN_AFTER_MS;
    this.refillTimer =
      onSchedule && refillInterval <= MAX_TIMER_DELAY
        ? ClockTimer.interval(this.clock, this.onInterval, refillInterval)
        : ClockTimer.timeout(this.clock, this.onRealign, lastStepAt + refillInterval - now);
    this.refillTimer.keepAlive(this.queue.length > 0);
  }

  private readonly onInterval = (): void => {
    const now = this.clock.performance.now();
    this.sync(now);
    if (now - stepTime(this.schedule, stepsAt(this.schedule, now)) >= REALIGN_AFTER_MS) {
      this.refillTimer?.cancel();
      this.arm(now);
    }
  };

  private readonly onRealign = (): void => {
    const now = this.clock.performance.now();
    this.sync(now);
    if (!this.isClosed) this.arm(now);
  };
}
