/**
 * The calls of one Redis bucket that hold a reservation, in the order Redis made them, and what their
 * order says: the last run of reservations each right on top of the one before. No I/O here.
 */
import type { Call } from './calls.js';
import { onTop } from './protocol.js';

/**
 * Reservations is the list `GiveBacks` keeps: calls holding a reservation, in the order Redis made them
 * (sleeping callers, and aborted ones whose tokens may still go back). It may hold calls granted
 * already (skipped). Indices are positions in the list, from {@link first} (the first still held) to
 * {@link length}; they stay valid until the list is compacted ({@link granting}, {@link compact},
 * {@link clear}).
 */
export class Reservations {
  /** Calls holding a reservation, in the order Redis made them. May hold calls granted already (skipped). */
  private sleepers: Call[] = [];
  private head = 0;

  /** The index of the first call still held. */
  get first(): number {
    return this.head;
  }

  /** The index after the last call. */
  get length(): number {
    return this.sleepers.length;
  }

  /** The call at index `i`, if any. */
  at(i: number): Call | undefined {
    return this.sleepers[i];
  }

  /** The latest call (the last reservation Redis made for this bucket), if any. */
  last(): Call | undefined {
    return this.sleepers[this.sleepers.length - 1];
  }

  /** The calls from index `start` (at least {@link first}) to the end. */
  slice(start: number): Call[] {
    return this.sleepers.slice(start);
  }

  /** The calls still held, in Redis order (a copy). */
  held(): Call[] {
    return this.sleepers.slice(this.head);
  }

  /** Appends `call`, whose reservation is the latest Redis made for this bucket. */
  push(call: Call): void {
    this.sleepers.push(call);
  }

  /** Empties the list. */
  clear(): void {
    this.sleepers = [];
    this.head = 0;
  }

  /** The calls still held, now at indices from 0 (the list compacted): indices taken before are void. */
  compact(): readonly Call[] {
    const calls = this.sleepers.slice(this.head);
    this.sleepers = calls;
    this.head = 0;
    return calls;
  }

  /**
   * The room grants `call`: the reservations before it are all settled, and leave this list. Returns
   * true when that leaves the list empty.
   */
  granting(call: Call): boolean {
    const sleepers = this.sleepers;
    while (this.head < sleepers.length && sleepers[this.head] !== call) this.head += 1;
    this.head += 1;
    if (this.head >= sleepers.length) {
      this.sleepers = [];
      this.head = 0;
      return true;
    }
    if (this.head > 1024 && this.head * 2 > sleepers.length) {
      this.sleepers = sleepers.slice(this.head);
      this.head = 0;
    }
    return false;
  }

  /**
   * A return moved the tail of `origin` from generation `from` to `to`: when that tail was this
   * bucket's last reservation, its run (each on top of the one before) now ends at `to`.
   */
  returned(origin: number, from: number, to: number): void {
    const top = this.last()?.reservation;
    if (top?.origin !== origin || top.gen !== from) return;
    for (let i = this.runStart(); i < this.sleepers.length; i += 1) {
      const call = this.sleepers[i] as Call;
      if (call.reservation !== undefined)
        call.reservation = { ...call.reservation, gen: call.reservation.gen + to - from };
    }
  }

  /** The index of the first of the longest run of reservations, each on top of the one before, ending with the latest. */
  runStart(): number {
    let first = this.sleepers.length - 1;
    if (first < this.head) return this.sleepers.length;
    while (first > this.head && onTop(this.sleepers[first - 1]?.reservation, this.sleepers[first]?.reservation)) {
      first -= 1;
    }
    return first;
  }

  /** The grant instant of the last call still sleeping (aborted ones no longer hold anyone back). */
  lastDeadline(): number {
    for (let i = this.sleepers.length - 1; i >= this.head; i -= 1) {
      const call = this.sleepers[i] as Call;
      if (call.state === 'sleeping') return call.deadline;
    }
    return Number.NEGATIVE_INFINITY;
  }
}
