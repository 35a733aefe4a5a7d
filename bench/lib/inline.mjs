/**
 * InlineTokenBucket is the benchmark's reference: the least work any token bucket can do.
 *
 * A token count and the time of the last refill; each call reads `performance.now()` once, adds the
 * tokens earned since (a continuous rate, capped at capacity) and takes one if it is there. Waiting
 * callers sit in a plain array (with a moving head index, so taking the head is O(1)) and only the
 * head sleeps, on one `setTimeout`. No validation, no abort, no maxWait, no close semantics beyond
 * clearing the timer: it is a yardstick, not a library, and every ratio in the tables is against it.
 */
export class InlineTokenBucket {
  /**
   * @param {number} capacity most tokens held
   * @param {number} tokensPerMs refill rate in tokens per ms
   * @param {number} initialTokens tokens held at creation
   */
  constructor(capacity, tokensPerMs, initialTokens) {
    this.capacity = capacity;
    this.rate = tokensPerMs;
    this.tokens = initialTokens;
    this.last = performance.now();
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

  /** Adds the tokens earned since the last call; `now` is the one clock reading of the call. */
  refill(now) {
    const tokens = this.tokens + (now - this.last) * this.rate;
    this.tokens = tokens < this.capacity ? tokens : this.capacity;
    this.last = now;
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

  sleep() {
    this.timer = setTimeout(this.wake, Math.max(1, Math.ceil((1 - this.tokens) / this.rate)));
  }

  close() {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
