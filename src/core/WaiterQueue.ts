/**
 * One caller waiting in a bucket's queue: how many tokens it asked for and how to settle its promise.
 * Fields are plain and fixed so every waiter shares one object shape.
 */
export class Waiter {
  prev: Waiter | undefined = undefined;
  next: Waiter | undefined = undefined;

  /**
   * @param count tokens asked for
   * @param resolve settles the caller's promise as granted
   * @param reject settles the caller's promise as rejected
   * @param signal the caller's abort signal, if any
   * @param calledAt clock reading (ms) of the call, from which `maxWait` counts
   * @param maxWait the caller's `maxWait` in ms (`Infinity` when none), re-checked by `reconfigure()`
   */
  constructor(
    readonly count: number,
    readonly resolve: () => void,
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignal | undefined,
    readonly calledAt: number,
    readonly maxWait: number,
  ) {}
}

/**
 * A FIFO of {@link Waiter}s as a doubly linked list: append, remove-first and remove-anywhere (for
 * aborts) are all O(1), so draining or aborting n waiters costs O(n) in all.
 */
export class WaiterQueue {
  private first: Waiter | undefined = undefined;
  private last: Waiter | undefined = undefined;
  private count = 0;

  /** The number of waiters queued. */
  get length(): number {
    return this.count;
  }

  /** The waiter at the head (the next to be granted), or undefined when the queue is empty. */
  get head(): Waiter | undefined {
    return this.first;
  }

  /** Appends `waiter` at the tail. */
  push(waiter: Waiter): void {
    waiter.prev = this.last;
    if (this.last === undefined) this.first = waiter;
    else this.last.next = waiter;
    this.last = waiter;
    this.count += 1;
  }

  /** Removes `waiter`, wherever it stands. The waiter must be in this queue. */
  remove(waiter: Waiter): void {
    if (waiter.prev === undefined) this.first = waiter.next;
    else waiter.prev.next = waiter.next;
    if (waiter.next === undefined) this.last = waiter.prev;
    else waiter.next.prev = waiter.prev;
    waiter.prev = undefined;
    waiter.next = undefined;
    this.count -= 1;
  }

  /** Removes and returns every waiter, head first. */
  takeAll(): Waiter[] {
    const all: Waiter[] = [];
    for (let waiter = this.first; waiter !== undefined; waiter = waiter.next) all.push(waiter);
    this.first = undefined;
    this.last = undefined;
    this.count = 0;
    return all;
  }

  /** Iterates the waiters head first, without removing them. */
  *[Symbol.iterator](): IterableIterator<Waiter> {
    for (let waiter = this.first; waiter !== undefined; waiter = waiter.next) yield waiter;
  }
}
