import { Waiter, type WaiterExtras } from '../core/WaiterQueue.js';

/**
 * One `getToken()` call of this thread that holds a reservation in the shared bucket and waits for
 * its step: what it reserved, where, and how to settle its promise. Fields are plain and fixed so
 * every reservation shares one object shape.
 *
 * It is a core `Waiter` (its `count`, `resolve` and, for a call with a signal, `extras` with the
 * signal and the bucket's abort owner), so that the core's `SignalWatch` holds it as it is: one abort
 * listener per signal however many reservations share it.
 */
export class LocalReservation extends Waiter {
  prev: LocalReservation | undefined = undefined;
  next: LocalReservation | undefined = undefined;
  /**
   * Set when its signal aborted, within one abort (every caller of the signal at once): it is
   * rejected at once, and leaves the queue when the abort is over, its tokens given back if they can be.
   */
  aborted = false;

  /**
   * @param count tokens reserved
   * @param step the step of the grant; moves earlier only when an abort ahead of it is withdrawn
   * @param before the shared debit just before this reservation was made
   * @param after the shared debit this reservation wrote
   * @param resolve settles the caller's promise, granted
   * @param reject settles the caller's promise, rejected
   * @param extras the caller's signal (and the bucket as its abort owner); undefined without a signal
   */
  constructor(
    count: number,
    public step: number,
    public before: bigint,
    public after: bigint,
    resolve: () => void,
    readonly reject: (reason: unknown) => void,
    extras: WaiterExtras | undefined,
  ) {
    super(count, resolve, extras);
  }
}

/**
 * This thread's reservations in arrival order, which is also grant order (each is reserved behind
 * the one before). A doubly linked list: append, take the head and remove anywhere are O(1).
 */
export class ReservationQueue {
  private first: LocalReservation | undefined = undefined;
  private last: LocalReservation | undefined = undefined;
  private count = 0;

  /** The number of reservations queued. */
  get length(): number {
    return this.count;
  }

  /** The earliest reservation (the next to be granted), or undefined when none waits. */
  get head(): LocalReservation | undefined {
    return this.first;
  }

  /** The latest reservation, or undefined when none waits. */
  get tail(): LocalReservation | undefined {
    return this.last;
  }

  /** Appends `reservation` at the tail. */
  push(reservation: LocalReservation): void {
    reservation.prev = this.last;
    if (this.last === undefined) this.first = reservation;
    else this.last.next = reservation;
    this.last = reservation;
    this.count += 1;
  }

  /** Removes `reservation`, wherever it stands. It must be in this queue. */
  remove(reservation: LocalReservation): void {
    if (reservation.prev === undefined) this.first = reservation.next;
    else reservation.prev.next = reservation.next;
    if (reservation.next === undefined) this.last = reservation.prev;
    else reservation.next.prev = reservation.prev;
    reservation.prev = undefined;
    reservation.next = undefined;
    this.count -= 1;
  }

  /** Whether `reservation` is in this queue (it is not once granted, rejected or removed). */
  has(reservation: LocalReservation): boolean {
    return reservation.prev !== undefined || this.first === reservation;
  }

  /** Removes and returns every reservation, head first. */
  takeAll(): LocalReservation[] {
    const all: LocalReservation[] = [];
    for (let item = this.first; item !== undefined; item = item.next) all.push(item);
    this.first = undefined;
    this.last = undefined;
    this.count = 0;
    return all;
  }
}
