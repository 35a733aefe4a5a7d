// The platform types that the declarations this package ships declare themselves: they compile with no
// lib beyond ES2022 and no `@types/node`, so what they need of `Disposable` and `AbortSignal` (lib
// esnext.disposable and lib dom) is declared here.

declare global {
  interface SymbolConstructor {
    /**
     * The method `using` calls at the end of a block, declared as lib esnext.disposable and `@types/node`
     * declare it (the declarations merge), so that `[Symbol.dispose](): void` compiles with lib ES2022.
     */
    readonly dispose: unique symbol;
  }
}

/**
 * DisposableLike is TypeScript's `Disposable` (lib esnext.disposable), which every bucket is: its
 * `[Symbol.dispose]()` closes it, so `using bucket = …` closes the bucket at the end of the block.
 */
export interface DisposableLike {
  /** Closes the bucket, as `close()` does. */
  [Symbol.dispose](): void;
}

/**
 * AbortSignalLike is the `AbortSignal` of the consumer's types when they declare one (lib dom, lib
 * webworker or `@types/node`), so every real signal is accepted; with no such types (lib ES2022 alone)
 * it is {@link AbortSignalShape}, the part of a signal that a bucket uses.
 */
export type AbortSignalLike = typeof globalThis extends { AbortSignal: { prototype: infer Signal } }
  ? Signal
  : AbortSignalShape;

/**
 * AbortSignalShape is what a bucket uses of an abort signal: `aborted`, `reason`, and one listener for
 * the `'abort'` event, called with an event whose `target` is the signal. A DOM or Node `AbortSignal`
 * has it; it stands in for one where no `AbortSignal` type is declared.
 */
export interface AbortSignalShape {
  /** Whether the signal has aborted. */
  readonly aborted: boolean;
  /** Why it aborted: what the aborted calls reject with, untouched. */
  readonly reason: unknown;
  /** Registers `listener` for the `'abort'` event. */
  addEventListener(type: 'abort', listener: (event: { readonly target: unknown }) => void, options?: object): void;
  /** Removes a listener registered with `addEventListener()`. */
  removeEventListener(type: 'abort', listener: (event: { readonly target: unknown }) => void): void;
}
