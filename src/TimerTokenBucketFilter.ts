import { ClockRetry, ClockTimer, MAX_TIMER_DELAY } from './clock.js';
import { BucketBase } from './core/BucketBase.js';
import { bucketInit } from './core/bucketInit.js';
import { stepTime, stepsAt, type RefillSchedule } from './core/refill.js';
import type { Timeline } from './core/Timeline.js';
import { BucketClosedError, BucketNotStartedError } from './errors.js';
import type { MultiLimitOptions, TokenBucketOptions } from './types/options.js';

/** How late (ms) an interval tick may run behind the schedule before the interval is re-aligned. */
const REALIGN_AFTER_MS = 1;

/**
 * One refill timer on one schedule, ticking at the whole-ms instants at which a lazy bucket's head
 * timer would wake for each step: a `setInterval` while a whole-ms interval keeps to the schedule, and
 * a one-shot timer to the next step otherwise (a fractional interval, or real timers running late).
 * Each tick calls `onTick` with the clock reading; a tick on an invalid reading calls nothing and
 * looks again after a {@link ClockRetry} delay.
 */
class Ticker {
  private timer: ClockTimer | undefined = undefined;
  private readonly retry = new ClockRetry();

  /**
   * @param timeline where the bucket reads time and finds its clock (looked up at each use)
   * @param schedule the schedule whose steps to tick on
   * @param onTick called with the clock reading at each tick
   * @param keepAlive whether the timer starts out keeping the process alive
   */
  constructor(
    private readonly timeline: Timeline,
    private readonly schedule: RefillSchedule,
    private readonly onTick: (now: number) => void,
    private keepAlive: boolean,
  ) {
    this.arm(timeline.tryNow());
  }

  /** Lets the timer keep the process alive or not. */
  setKeepAlive(keepAlive: boolean): void {
    this.keepAlive = keepAlive;
    this.timer?.keepAlive(keepAlive);
  }

  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Sets the timer for the next step after `now`: a `setInterval` when the interval is a whole number
   * of ms and `now` is on the schedule (within {@link REALIGN_AFTER_MS}), otherwise a one-shot timer to
   * the next step, which then arms again; a retry when `now` is undefined (an invalid reading).
   */
  private arm(now: number | undefined): void {
    const clock = this.timeline.clock;
    if (now === undefined) {
      this.timer = ClockTimer.timeout(clock, this.onRealign, this.retry.next());
    } else {
      this.retry.reset();
      const { refillInterval } = this.schedule;
      const step = stepsAt(this.schedule, now);
      const lastStepAt = stepTime(this.schedule, step);
      // A fractional interval's steps fall between whole ms: setInterval would tick at a multiple of the
      // rounded interval and drift from the steps, so each tick aims at its own step, as the lazy kind does.
      const onSchedule =
        Number.isInteger(refillInterval) && refillInterval <= MAX_TIMER_DELAY && now - lastStepAt < REALIGN_AFTER_MS;
      this.timer = onSchedule
        ? ClockTimer.interval(clock, this.onInterval, refillInterval)
        : ClockTimer.timeout(clock, this.onRealign, stepTime(this.schedule, step + 1) - now);
    }
    this.timer.keepAlive(this.keepAlive);
  }

  private readonly onInterval = (): void => {
    const now = this.timeline.tryNow();
    if (now !== undefined) this.onTick(now);
    if (this.timer === undefined) return; // cancelled by the tick (close or reconfigure)
    if (now === undefined || now - stepTime(this.schedule, stepsAt(this.schedule, now)) >= REALIGN_AFTER_MS) {
      this.timer.cancel();
      this.arm(now);
    }
  };

  private readonly onRealign = (): void => {
    const now = this.timeline.tryNow();
    const timer = this.timer;
    if (now !== undefined) this.onTick(now);
    if (this.timer === timer) this.arm(now);
  };
}

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
 * never drifts. Like the lesson's daemon, which adds a token only while the bucket is below its
 * maximum, the interval stops while the bucket is full and nobody waits, and starts again at the next
 * take, on the same schedule counted from the creation: an idle full bucket holds no timer and costs
 * no CPU, and `vi.runAllTimers()`/`jest.runAllTimers()` terminate. While it runs, the interval is
 * `unref`'d unless callers are queued, so it never keeps a process alive by itself. Grants happen at
 * exactly the same instants as {@link LazyTokenBucketFilter}'s. With several limits
 * (`limits: [...]`) it runs one such timer per limit, each on its own schedule; `reconfigure()`
 * re-arms them on the new schedules.
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
  /** One refill timer per limit while started, open and not idle (full with nobody waiting). */
  private tickers: Ticker[] = [];
  /** A one-shot timer to the end of a pause, while callers wait through it (it may fall between ticks). */
  private resumeTimer: ClockTimer | undefined = undefined;
  private started = false;

  /**
   * @param options one limit (`capacity`, `refillTokens`, `refillInterval`, `initialTokens`) or
   * several (`limits: [...]`), and optionally a `clock`
   */
  constructor(options: TokenBucketOptions | MultiLimitOptions) {
    super(bucketInit(options, 'timer'));
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
    this.armAll();
    return this;
  }

  protected override get setsHeadTimer(): boolean {
    return false; // the refill interval wakes the room
  }

  protected override headChanged(): void {
    const keepAlive = this.room.length > 0;
    for (const ticker of this.tickers) ticker.setKeepAlive(keepAlive);
    if (keepAlive && this.resumeTimer === undefined) this.armResume();
  }

  protected stopTimers(): void {
    for (const ticker of this.tickers) ticker.cancel();
    this.tickers = [];
    this.resumeTimer?.cancel();
    this.resumeTimer = undefined;
    this.takeWakes = true;
  }

  protected override limitChanged(): void {
    if (!this.started) return;
    this.stopTimers();
    this.armAll();
    this.armResume();
  }

  /**
   * A pause ends at an instant of its own, generally between two ticks, where the lazy kind would
   * grant the head: while callers wait through a pause, one timer fires then and grants what is due.
   */
  private armResume(): void {
    const resumeAt = this.limit.resumeAt;
    const now = this.timeline.tryNow();
    if (!this.started || this.isClosed || this.room.length === 0 || now === undefined || !(resumeAt > now)) return;
    this.resumeTimer = ClockTimer.timeout(this.timeline.clock, this.onResume, resumeAt - now);
  }

  private readonly onResume = (): void => {
    this.resumeTimer = undefined;
    const now = this.timeline.tryNow();
    if (now !== undefined) this.sync(now);
    this.armResume(); // still early (timers and clock disagree by a fraction of a ms): once more
  };

  protected override refuseWait(): Error | undefined {
    return this.started ? undefined : new BucketNotStartedError();
  }

  /** After a take from an idle bucket: its refill timers start again (see {@link armAll}). */
  protected override tokensTaken(): void {
    this.resume();
  }

  override clockChanged(): void {
    if (!this.started || this.isClosed) return;
    this.stopTimers();
    this.armAll();
    this.armResume();
  }

  /** Whether the refill timer has nothing to do: the bucket is full and nobody waits. */
  private get idle(): boolean {
    return this.room.length === 0 && this.limit.full;
  }

  /** Starts the refill timers again after a take from an idle bucket (started and open only). */
  private resume(): void {
    if (this.started && !this.isClosed && !this.idle) this.armAll();
  }

  /** Starts one refill timer per limit, unless the bucket is idle: then the next take starts them. */
  private armAll(): void {
    this.takeWakes = this.idle;
    if (this.takeWakes) return;
    const keepAlive = this.room.length > 0;
    this.tickers = this.limit.schedules().map((schedule) => new Ticker(this.timeline, schedule, this.tick, keepAlive));
  }

  private readonly tick = (now: number): void => {
    this.sync(now);
    if (this.idle && !this.isClosed) this.stopTimers();
  };
}
