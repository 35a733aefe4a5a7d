/**
 * The short lock that guards a shared bucket's state: one `Int32` word of its `SharedArrayBuffer`,
 * 0 when free, 1 when held, 2 when held and another thread may be sleeping on it (the three-state
 * futex mutex of Drepper's "Futexes Are Tricky").
 *
 * Taking it is one `Atomics.compareExchange` when nobody holds it; a thread that finds it held spins a
 * bounded number of times (the holder only runs a few hundred nanoseconds of arithmetic), then sleeps
 * in `Atomics.wait` with a short timeout where the runtime allows blocking (Node's threads, Web
 * Workers), and goes on spinning where it does not (a browser's main thread). Releasing it is one
 * atomic exchange, plus an `Atomics.notify` only when a thread may be sleeping.
 *
 * Every access to the state between `lock()` and `unlock()` may be a plain typed-array read or write:
 * the lock's atomic operations order them across threads (a release-acquire pair in the JavaScript
 * memory model), so a program that touches the state only under the lock is data-race free and, by the
 * model's DRF-SC guarantee, behaves sequentially consistently.
 */

/** Attempts before a thread that finds the lock held starts to sleep (or, where it cannot, yields nothing and spins on). */
const SPINS = 100;
/** The longest one `Atomics.wait` on the lock lasts (ms) before the thread looks again. */
const WAIT_MS = 1;

/** Whether this thread may block in `Atomics.wait` (not on a browser's main thread); found on first need. */
let canBlock: boolean | undefined;

function blockingAllowed(): boolean {
  if (canBlock === undefined) {
    try {
      // A value that does not match returns at once ("not-equal") where waiting is allowed, and throws
      // a TypeError where it is not.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
      canBlock = true;
    } catch {
      canBlock = false;
    }
  }
  return canBlock;
}

/** Takes the lock at `words[index]`, waiting for another thread to release it. */
export function lock(words: Int32Array, index: number): void {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return;
  lockContended(words, index);
}

/** The slow path of {@link lock}: spin, then mark the lock contended (2) and sleep until it is free. */
function lockContended(words: Int32Array, index: number): void {
  for (let i = 0; i < SPINS; i += 1) {
    if (Atomics.load(words, index) === 0 && Atomics.compareExchange(words, index, 0, 1) === 0) return;
  }
  const block = blockingAllowed();
  // Exchanging in 2 takes the lock if it was free (0) and tells the holder that someone may sleep.
  while (Atomics.exchange(words, index, 2) !== 0) {
    if (block) Atomics.wait(words, index, 2, WAIT_MS);
  }
}

/** Releases the lock at `words[index]`, held by this thread, and wakes one sleeper if there may be one. */
export function unlock(words: Int32Array, index: number): void {
  // As Rust's futex mutex does: swap in 0, and wake a sleeper only if the lock was marked contended.
  if (Atomics.exchange(words, index, 0) === 2) Atomics.notify(words, index, 1);
}
