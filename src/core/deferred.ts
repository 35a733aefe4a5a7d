/** A caller's pending promise with the functions that settle it, as `Promise.withResolvers()` gives. */
export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: (value: void | PromiseLike<void>) => void;
  readonly reject: (reason: unknown) => void;
}

/**
 * Returns a new pending promise with its `resolve` and `reject` (Node 20 lacks
 * `Promise.withResolvers()`). A waiting caller's promise is made this way, so that the waiter holding
 * them can be built, and registered with its signal (which may throw), before anything else changes.
 */
export function deferred(): Deferred {
  let resolve!: (value: void | PromiseLike<void>) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<void>((resolvePromise, rejectPromise) => {
    resolve = resolvePromise;
    reject = rejectPromise;
  });
  return { promise, resolve, reject };
}
