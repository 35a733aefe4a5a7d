/** One call waiting in a {@link Semaphore}'s queue for a slot. */
export interface SlotWaiter {
  /** Clock reading (ms) from which the call has waited longer than its `maxWait`; `Infinity` when none. */
  readonly deadline: number;
  /** Hands the slot to the call: it holds it from now on and must `release()` it once. */
  grant(): void;
  /** Rejects the call with `reason` (an abort, a `maxWait` run out); it never held a slot. */
  reject(reason: unknown): void;
}

/** Granted waiters tolerated at the head of the array before it is sliced off. */
const COMPACT_AFTER = 1024;

/**
 * Semaphore counts `limit` slots and queues, strictly first in first out, the waiters that find none
 * free. Every operation is O(1) (amortized): waiters sit in an array with a moving head (no
 * `Array.shift()`, which copies the array once it is large), and only waiters at the head ever leave
 * one at a time (a slot freed, a `maxWait` run out: with one `maxWait` for every call, the deadlines
 * come in queue order), while an abort takes the whole queue at once ({@link takeAll}), so no removal
 * from the middle is needed and a departed waiter's place is freed at once.
 *
 * Nothing here reads a clock or sets a timer: the owner does, so the semaphore works on any clock,
 * fake timers installed after import included.
 */
export class Semaphore {
  private free: number;
  private waiters: Array<SlotWaiter | undefined> = [];
  /** Index of the head waiter in {@link waiters}. */
  private start = 0;

  /** @param limit the number of slots: a positive integer */
  constructor(readonly limit: number) {
    this.free = limit;
  }

  /** Waiters queued for a slot. */
  get waiting(): number {
    return this.waiters.length - this.start;
  }

  /** Slots held right now. */
  get held(): number {
    return this.limit - this.free;
  }

  /** The waiter that the next freed slot goes to, or undefined when none waits. */
  get head(): SlotWaiter | undefined {
    return this.waiters[this.start];
  }

  /** Takes a slot if one is free and nobody waits (no barging), and says whether it did. */
  tryAcquire(): boolean {
    if (this.free === 0 || this.start !== this.waiters.length) return false;
    this.free -= 1;
    return true;
  }

  /** Queues `waiter` at the tail; its `grant()` is called when a slot comes to it. */
  enqueue(waiter: SlotWaiter): void {
    this.waiters.push(waiter);
  }

  /** Frees a held slot: hands it to the head waiter (calling its `grant()`), or counts it free. */
  release(): void {
    const next = this.shift();
    if (next === undefined) this.free += 1;
    else next.grant();
  }

  /** Removes and returns the head waiter (the caller rejects it), or undefined when none waits. */
  shift(): SlotWaiter | undefined {
    const waiters = this.waiters;
    const head = waiters[this.start];
    if (head === undefined) return undefined;
    waiters[this.start] = undefined;
    this.start += 1;
    if (this.start === waiters.length) {
      this.waiters = [];
      this.start = 0;
    } else if (this.start > COMPACT_AFTER && this.start * 2 > waiters.length) {
      this.waiters = waiters.slice(this.start);
      this.start = 0;
    }
    return head;
  }

  /** Removes and returns every waiter, head first. */
  takeAll(): SlotWaiter[] {
    const all = this.waiters.slice(this.start) as SlotWaiter[];
    this.waiters = [];
    this.start = 0;
    return all;
  }
}
