// What a bucket tells an `observer` as it happens, and why a call was refused: the events add up to
// `stats()` exactly.

/**
 * Why a call was refused, as a {@link BucketObserver} hears it: the name of the `stats()` counter the
 * refusal is counted in. `'denied'`: a `tryGetToken()` that returned false; `'maxWaitExceeded'`: a
 * `getToken()` rejected with `MaxWaitExceededError` (at the call, or re-planned by `reconfigure()` or `pause()`);
 * `'queueFull'`: rejected with `QueueFullError`; `'overCapacity'`: a queued call rejected by a
 * `reconfigure()` that left its count above the new capacity.
 */
export type RefusalReason = 'denied' | 'maxWaitExceeded' | 'queueFull' | 'overCapacity';

/**
 * BucketObserver receives what a bucket does, as it happens, through the `observer` option: every call
 * that `stats()` counts is reported once, to the method named after what became of it, so that metrics
 * fed from the observer add up to `stats()` exactly. Every method is optional. All times are in ms,
 * all counts in tokens; waits are measured on the bucket's clock, from the call.
 *
 * - `granted(count, waitedMs)`: a call got its `count` tokens, `waitedMs` after it was made (0 for a
 *   grant without waiting, `tryGetToken()` included; for a Redis bucket, a grant at the reply is the
 *   round trip).
 * - `refused(count, reason)`: a call was refused; `reason` names the `stats()` counter it is counted
 *   in ({@link RefusalReason}). Invalid arguments and calls after `close()` are not counted, nor reported.
 * - `queued(count, queueLength)`: a `getToken()` started waiting; `queueLength` is this instance's
 *   `pending`, it included.
 * - `aborted(count, waitedMs, reason)`: a waiting call left because its signal aborted with `reason`
 *   (what it rejects with), `waitedMs` after it was made (NaN if the clock's reading was invalid then).
 * - `closed(pendingRejected)`: `close()` rejected that many waiting callers (for a shared bucket: this
 *   instance's, when it closes or notices another thread's close).
 *
 * On a keyed bucket each method but `closed` gets the key as its last argument (`K`). Methods, not
 * event objects: an observed bucket allocates nothing per event (an observed bucket's waiters each
 * keep the instant of their call, for `waitedMs`), and an unobserved one pays a field check per call.
 * Methods are called synchronously, at the moment of the event, once the bucket is consistent again
 * (calling the bucket from one is safe). A method that throws does not break the bucket: the error is
 * rethrown in a microtask (`queueMicrotask`), where the runtime reports it as it reports an
 * `EventTarget` listener's (in Node, an uncaught exception), and the bucket carries on.
 *
 * Methods are read once, when the bucket is created, own or inherited (a class instance works), but
 * never from `Object.prototype`. The observer must have at least one of them.
 *
 * @example
 * const bucket = new LazyTokenBucketFilter({
 *   capacity: 10,
 *   observer: {
 *     granted: (count, waitedMs) => histogram.record(waitedMs),
 *     refused: (count, reason) => refusals.add(1, { reason }),
 *   },
 * });
 */
export interface BucketObserver<K = undefined> {
  /** A call got `count` tokens, `waitedMs` ms after it was made (0: without waiting). */
  granted?(count: number, waitedMs: number, key: K): void;
  /** A call for `count` tokens was refused; `reason` is the `stats()` counter it is counted in. */
  refused?(count: number, reason: RefusalReason, key: K): void;
  /** A `getToken(count)` started waiting; `queueLength` callers of this instance wait now, it included. */
  queued?(count: number, queueLength: number, key: K): void;
  /** A waiting call for `count` tokens left, `waitedMs` ms after it was made: its signal aborted with `reason`. */
  aborted?(count: number, waitedMs: number, reason: unknown, key: K): void;
  /** `close()` rejected `pendingRejected` waiting callers. */
  closed?(pendingRejected: number): void;
}
