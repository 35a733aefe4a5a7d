import { ClockRetry, ClockTimer } from '../clock.js';
import type { RoomTime } from './WaitPlan.js';

/**
 * HeadTimer is a waiting room's one timer: set for the instant its head is due, or, while the clock
 * gives invalid readings, for a retry paced by {@link ClockRetry}. Timers round, cap and sometimes
 * fire early: on waking the room re-reads the clock, grants what is due, and a head still early simply
 * gets a new timer.
 */
export class HeadTimer {
  private timer: ClockTimer | undefined = undefined;
  private retry: ClockRetry | undefined = undefined;

  /**
   * @param time where the room reads time and sets its timer
   * @param onWake called when the timer fires, with the clock reading then (undefined if invalid)
   */
  constructor(
    private readonly time: RoomTime,
    private readonly onWake: (now: number | undefined) => void,
  ) {}

  /** Whether a timer is set. */
  get armed(): boolean {
    return this.timer !== undefined;
  }

  /** Stops the timer, if one is set. */
  cancel(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Sets the timer for clock reading `at` (ms), as of reading `now` (read from the clock when not
   * given); a retry when the reading is invalid. Replaces any timer set before.
   */
  arm(at: number, now: number | undefined): void {
    this.cancel();
    const reading = now ?? this.time.tryNow();
    let delay: number;
    if (reading === undefined) {
      delay = (this.retry ??= new ClockRetry()).next();
    } else {
      this.retry?.reset();
      delay = at - reading;
    }
    this.timer = ClockTimer.timeout(this.time.clock, this.wake, delay);
  }

  private readonly wake = (): void => {
    this.timer = undefined;
    this.onWake(this.time.tryNow());
  };
}
