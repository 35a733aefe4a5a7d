import type { AbortOwner } from './SignalWatch.js';
import type { AbortSignalLike } from '../types/platform.js';

/**
 * What only some waiters need: the promise's `reject` (for an abort, or a `maxWait` that `reconfigure()`
 * breaks), their abort signal, and their `maxWait`. Kept apart so that the common waiter (no signal,
 * no `maxWait`) stays small: a bucket may hold hundreds of thousands of waiters.
 */
export class WaiterExtras {
  /**
   * @param reject settles the caller's promise as rejected
   * @param signal the caller's abort signal, if any
   * @param calledAt clock reading (ms) of the call, from which `maxWait` counts
   * @param maxWait the caller's `maxWait` in ms (`Infinity` when none), re-checked by `reconfigure()`
   * @param owner the bucket whose queue holds the waiter, told when its signal aborts
   */
  constructor(
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignalLike | undefined,
    readonly calledAt: number,
    readonly maxWait: number,
    readonly owner: AbortOwner,
  ) {}
}

/**
 * One caller waiting in a bucket's queue: how many tokens it asked for and how to settle its promise.
 * Fields are plain and fixed so every waiter shares one object shape, and few, because each queued
 * caller costs one: only the promise's `resolve` is kept, and the rare fields (with `reject`) live in
 * `extras` (see {@link rejectWaiter}).
 */
export class Waiter {
  /**
   * @param count tokens asked for (a positive integer); set to {@link REMOVED} by the queue when the
   *   waiter leaves it from anywhere but the head (abort, reconfigure), so that no flag costs a field
   * @param resolve settles the caller's promise: granted with no value, rejected with a rejected promise
   * @param extras the `reject`, signal and `maxWait` of a call that has a signal or a `maxWait`
   */
  constructor(
    public count: number,
    readonly resolve: (value: void | PromiseLike<void>) => void,
    readonly extras: WaiterExtras | undefined,
  ) {}
}

/**
 * Rejects the caller's promise with `reason`, untouched. A waiter with extras (a signal or a `maxWait`)
 * keeps its promise's `reject`; a plain one keeps only `resolve`, and resolving a promise with a rejected
 * one rejects it with the same reason, two microtask turns later than a direct `reject` would (the
 * rejected promise is handled within those turns, so it is never reported as unhandled). Plain waiters
 * are rejected only by `close()` and by a `reconfigure()` that leaves their count above capacity.
 */
export function rejectWaiter(waiter: Waiter, reason: unknown): void {
  const extras = waiter.extras;
  if (extras !== undefined) {
    extras.reject(reason);
    return;
  }
  // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the reason is passed on untouched
  waiter.resolve(Promise.reject(reason));
}

/** The `count` of a waiter removed from the middle of the queue, until the queue drops it. */
export const REMOVED = 0;

/** Removed waiters tolerated in the array before it is compacted (and at least as many as live ones). */
const COMPACT_AFTER = 64;

/**
 * A FIFO of {@link Waiter}s in an array with a moving head index: append and remove-first are O(1)
 * (amortized), and so is remove-anywhere (for aborts): the waiter is marked removed and skipped when it
 * reaches the head, and the array is compacted once removed waiters outnumber live ones. An array scan
 * grants a burst of waiters several times faster than walking a linked list of them.
 */
export class WaiterQueue {
  private slots: Array<Waiter | undefined> = [];
  /** Index of the first slot that may hold a waiter. */
  private start = 0;
  private live = 0;
  private removedCount = 0;

  /** The number of waiters queued. */
  get length(): number {
    return this.live;
  }

  /** The waiter at the head (the next to be granted), or undefined when the queue is empty. */
  get head(): Waiter | undefined {
    if (this.live === 0) return undefined;
    // Every slot from `start` on holds a waiter (a hole is only ever left behind `start`), and a live
    // one lies among them.
    const slots = this.slots as Waiter[];
    let waiter = slots[this.start] as Waiter;
    while (waiter.count === REMOVED) {
      // Drop removed waiters at the head as they surface.
      slots[this.start] = undefined as never;
      this.start += 1;
      this.removedCount -= 1;
      waiter = slots[this.start] as Waiter;
    }
    return waiter;
  }

  /** Appends `waiter` at the tail. */
  push(waiter: Waiter): void {
    this.slots.push(waiter);
    this.live += 1;
  }

  /**
   * Removes `waiter`, wherever it stands. The waiter must be in this queue. Its `count` stays readable
   * only when it was the head; a waiter removed from elsewhere gets the count {@link REMOVED}.
   */
  remove(waiter: Waiter): void {
    this.live -= 1;
    if (this.slots[this.start] === waiter) {
      this.slots[this.start] = undefined;
      this.start += 1;
    } else {
      waiter.count = REMOVED;
      this.removedCount += 1;
    }
    if (this.live === 0) this.reset();
    else if (this.start > COMPACT_AFTER && this.start * 2 > this.slots.length) this.compact();
    else if (this.removedCount > COMPACT_AFTER && this.removedCount > this.live) this.compact();
  }

  /** Removes and returns every waiter, head first. */
  takeAll(): Waiter[] {
    this.compact();
    const all = this.slots as Waiter[];
    this.reset();
    return all;
  }

  /** Iterates the waiters head first, without removing them. Do not change the queue meanwhile. */
  *[Symbol.iterator](): IterableIterator<Waiter> {
    const slots = this.slots;
    for (let i = this.start; i < slots.length; i += 1) {
      const waiter = slots[i];
      if (waiter !== undefined && waiter.count !== REMOVED) yield waiter;
    }
  }

  private reset(): void {
    this.slots = [];
    this.start = 0;
    this.live = 0;
    this.removedCount = 0;
  }

  /** Copies the live waiters to a fresh array, dropping the head's holes and the removed ones. */
  private compact(): void {
    const slots = this.slots;
    if (this.removedCount === 0) {
      this.slots = slots.slice(this.start);
    } else {
      const kept: Array<Waiter | undefined> = [];
      for (let i = this.start; i < slots.length; i += 1) {
        const waiter = slots[i];
        if (waiter !== undefined && waiter.count !== REMOVED) kept.push(waiter);
      }
      this.slots = kept;
    }
    this.start = 0;
    this.removedCount = 0;
  }
}
