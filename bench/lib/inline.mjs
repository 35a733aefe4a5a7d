/**
 * InlineTokenBucket is the benchmark's reference: the least work a token bucket can do.
 *
 * A token count and the time of the last refill; each call reads `performance.now()` once and, only
 * when a refill step has passed, adds `refillTokens` for each whole step since (capped at capacity).
 * Tokens arrive in the same discrete steps as token-bucket-filter's, so both face the same work (a
 * whole step's grants at once in the backlog scenario). Waiting callers sit in a plain array (with a
 * moving head index, so taking the head is O(1)) and only the head sleeps, on one `setTimeout`.
 *
 * No validation, abort, maxWait or close semantics beyond clearing the timer: it is a yardstick, not a
 * library, and every ratio in the tables is against it.
 */
export class InlineTokenBucket {
  /**
   * @param {number} capacity most tokens held
   * @param {number} refillTokens tokens added at each step
   * @param {number} refillInterval ms between steps
   * @param {number} initialTokens tokens held at creation
   */
  constructor(capacity, refillTokens, refillInterval, initialTokens) {
    this.capacity = capacity;
    this.refillTokens = refillTokens;
    this.interval = refillInterval;
    this.tokens = initialTokens;
    this.last = performance.now();
    this.nextAt = this.last + refillInterval;
    /** @type {Array<(() => void) | undefined>} */
    this.waiters = [];
    this.head = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.wake = () => {
      this.timer = undefined;
      this.drain();
    };
  }

  /** Adds the tokens of the steps passed by clock reading `now` (the one reading of the call). */
  refill(now) {
    if (now < this.nextAt) return;
    const steps = Math.floor((now - this.last) / this.interval);
    const tokens = this.tokens + steps * this.refillTokens;
    this.tokens = tokens < this.capacity ? tokens : this.capacity;
    this.last += steps * this.interval;
    this.nextAt = this.last + this.interval;
  }

  /** Takes a token if there is one and nobody waits; returns whether it did. */
  tryGetToken() {
    this.refill(performance.now());
    if (this.head < this.waiters.length || this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Resolves when a token is taken for this caller, first come first served. */
  getToken() {
    this.refill(performance.now());
    // Grant queued callers the tokens already cover first, so that no token is lost to the cap while
    // a burst of callers queues up faster than the timer can wake.
    if (this.head < this.waiters.length && this.tokens >= 1) this.grant();
    if (this.head === this.waiters.length && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      if (this.timer === undefined) this.sleep();
    });
  }

  /** Grants every waiter the tokens cover, in order, then sleeps until the next one is due. */
  drain() {
    this.refill(performance.now());
    this.grant();
    if (this.head < this.waiters.length) this.sleep();
  }

  /** Grants, in order, every waiter the tokens cover. */
  grant() {
    const waiters = this.waiters;
    while (this.head < waiters.length && this.tokens >= 1) {
      this.tokens -= 1;
      const resolve = waiters[this.head];
      waiters[this.head] = undefined;
      this.head += 1;
      resolve?.();
    }
    if (this.head === waiters.length) {
      this.waiters = [];
      this.head = 0;
    }
  }

  /** Sleeps until the step that brings the head's token (re-checked on waking: timers may fire early). */
  sleep() {
    const steps = Math.ceil((1 - this.tokens) / this.refillTokens);
    const dueAt = this.last + steps * this.interval;
    this.timer = setTimeout(this.wake, Math.max(1, Math.ceil(dueAt - performance.now())));
  }

  close() {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
