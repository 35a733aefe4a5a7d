import { type Clock, ClockRetry, ClockTimer, globalClock, readClock, tryReadClock } from '../clock.js';
import { MaxWaitExceededError } from '../errors.js';
import { abortReason, checkCount } from '../options/requestOptions.js';
import type { GetTokenOptions } from '../types/options.js';
import type { AbortSignalLike } from '../types/platform.js';
import { Semaphore, type SlotWaiter } from './Semaphore.js';

/** What a wrapped function with a `concurrency` cap needs, validated by `wrap()`. */
export interface ConcurrentPlan<A extends unknown[], R, This> {
  readonly getToken: (count: number, options: GetTokenOptions | undefined) => Promise<void>;
  /** The bucket's `capacity` now, or undefined when the source has none. */
  readonly capacity: () => unknown;
  readonly fn: (this: This, ...args: A) => R;
  readonly cost: number | ((...args: A) => number);
  readonly maxWait: number | undefined;
  readonly signal: AbortSignalLike | undefined;
  readonly concurrency: number;
  /** The injected clock, or undefined for the global one looked up at each use. */
  readonly clock: Clock | undefined;
}

/**
 * The rejection of a call that waited `maxWait` ms for a concurrency slot and got none: a
 * `MaxWaitExceededError` whose `waitTime` is how long it waited (when a slot will come free is not
 * known in advance, unlike the bucket's grant instant).
 */
function slotTimeout(waited: number, maxWait: number, concurrency: number): MaxWaitExceededError {
  const error = new MaxWaitExceededError(waited, maxWait);
  error.message = `No concurrency slot came free within maxWait (${maxWait} ms): ${concurrency} calls in flight`;
  return error;
}

/**
 * Returns the wrapped function of a `wrap()` with `concurrency`: at most `concurrency` calls between
 * taking a slot and the settling of `fn`'s result. One FIFO order: a call first waits for a slot, then
 * (holding it) for its tokens, so it never holds tokens while it waits for a slot, and the calls that
 * hold slots and wait for tokens are the earliest ones: nobody behind them could be granted sooner.
 * A call that rejects, for whatever reason, frees its slot.
 *
 * `maxWait` counts from the call: a call still waiting for a slot when it runs out rejects with
 * {@link slotTimeout} (one timer, for the head of the queue: every call has the same `maxWait`, so the
 * deadlines come in queue order), and one that gets its slot asks the bucket for its tokens with what
 * is left of it. The signal's abort rejects every call waiting for a slot at once (one listener, held
 * while anyone waits); the calls waiting for tokens are rejected by the bucket.
 */
export function concurrentWrapper<A extends unknown[], R, This>(
  plan: ConcurrentPlan<A, R, This>,
): (this: This, ...args: A) => Promise<Awaited<R>> {
  const { getToken, fn, cost, maxWait, signal, concurrency } = plan;
  const semaphore = new Semaphore(concurrency);
  const options: GetTokenOptions | undefined =
    maxWait === undefined && signal === undefined ? undefined : { maxWait, signal };
  // A finite maxWait needs the clock; `Infinity` (or none) means no deadline.
  const timed = maxWait !== undefined && maxWait !== Infinity;
  const limit = maxWait ?? Infinity;
  const clock = (): Clock => plan.clock ?? globalClock();
  const retry = new ClockRetry();
  let timer: ClockTimer | undefined;
  let listening = false;

  const release = (): void => {
    semaphore.release();
    if (semaphore.waiting === 0) idle();
  };

  /** Takes the tokens and calls fn, holding a slot; frees the slot once the result settles. */
  const start = (thisArg: This, args: A, count: number, callOptions: GetTokenOptions | undefined) => {
    let result: Promise<Awaited<R>>;
    try {
      result = getToken(count, callOptions).then(() => fn.apply(thisArg, args) as Awaited<R>);
    } catch (error) {
      // A hand-written token source whose getToken() throws: reject with what it threw.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched
      result = Promise.reject(error);
    }
    result.then(release, release);
    return result;
  };

  /** Starts a call that waited for its slot, with what is left of its maxWait. */
  const startWaited = (thisArg: This, args: A, count: number, calledAt: number): Promise<Awaited<R>> => {
    if (!timed) return start(thisArg, args, count, options);
    let waited: number;
    try {
      waited = Math.max(0, readClock(clock()) - calledAt);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an InvalidClockReadingError
      return settleWithoutTokens(Promise.reject(error));
    }
    if (waited > limit) return settleWithoutTokens(Promise.reject(slotTimeout(waited, limit, concurrency)));
    return start(thisArg, args, count, { maxWait: limit - waited, signal });
  };

  /** Frees the slot of a call that rejects before asking for tokens: later, never inside a release(). */
  const settleWithoutTokens = (result: Promise<never>): Promise<never> => {
    result.then(release, release);
    return result;
  };

  /** Nobody waits for a slot: no timer, no abort listener. */
  const idle = (): void => {
    timer?.cancel();
    timer = undefined;
    if (listening) {
      listening = false;
      try {
        (signal as AbortSignalLike).removeEventListener('abort', onAbort);
      } catch {
        // A signal-like whose removeEventListener throws keeps a listener that finds nobody to reject.
      }
    }
  };

  const onAbort = (): void => {
    let reason: unknown;
    try {
      reason = abortReason(signal as AbortSignalLike);
    } catch (error) {
      reason = error;
    }
    const waiters = semaphore.takeAll();
    idle();
    for (const waiter of waiters) waiter.reject(reason);
  };

  /** Sets the one maxWait timer for the head of the queue, `delay` ms from now. */
  const arm = (delay: number): void => {
    timer = ClockTimer.timeout(clock(), onDeadline, delay);
  };

  /** Rejects the waiters whose maxWait has run out (a prefix of the queue), and re-arms for the next. */
  const onDeadline = (): void => {
    timer = undefined;
    const now = tryReadClock(clock());
    if (now === undefined) {
      arm(retry.next());
      return;
    }
    retry.reset();
    let head = semaphore.head;
    while (head !== undefined && head.deadline <= now) {
      semaphore.shift();
      head.reject(slotTimeout(now - (head.deadline - limit), limit, concurrency));
      head = semaphore.head;
    }
    if (head === undefined) idle();
    else arm(head.deadline - now);
  };

  /** Queues a call that found no free slot; its promise settles as the call does. */
  const enqueue = (thisArg: This, args: A, count: number): Promise<Awaited<R>> =>
    new Promise<Awaited<R>>((resolve, reject) => {
      // Whatever throws here rejects the call, before anything was registered.
      const badCount = checkCount(count, capacityOf(plan.capacity()));
      if (badCount !== undefined) throw badCount;
      if (signal?.aborted === true) throw abortReason(signal);
      let calledAt = 0;
      let deadline = Infinity;
      if (timed) {
        if (limit === 0) throw slotTimeout(0, 0, concurrency);
        calledAt = readClock(clock());
        deadline = calledAt + limit;
        if (timer === undefined) arm(limit);
      }
      if (signal !== undefined && !listening) {
        try {
          signal.addEventListener('abort', onAbort);
        } catch (error) {
          if (semaphore.waiting === 0) idle();
          throw error;
        }
        listening = true;
      }
      const waiter: SlotWaiter = {
        deadline,
        grant: () => {
          resolve(startWaited(thisArg, args, count, calledAt));
        },
        reject,
      };
      semaphore.enqueue(waiter);
    });

  return function wrapped(this: This, ...args: A): Promise<Awaited<R>> {
    let count: number;
    try {
      count = typeof cost === 'number' ? cost : cost(...args);
    } catch (error) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rejects with what cost() threw, untouched
      return Promise.reject(error);
    }
    if (semaphore.tryAcquire()) return start(this, args, count, options);
    return enqueue(this, args, count);
  };
}

/** The capacity to check a queued call's count against: the bucket's, or no bound when it has none. */
function capacityOf(capacity: unknown): number {
  return typeof capacity === 'number' ? capacity : Infinity;
}
