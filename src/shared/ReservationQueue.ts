/**
 * One `getToken()` call of this thread that holds a reservation in the shared bucket and waits for
 * its step: what it reserved, where, and how to settle its promise. Fields are plain and fixed so
 * every reservation shares one object shape.
 */
export class LocalReservation {
  prev: LocalReservation | undefined = undefined;
  next: LocalReservation | undefined = undefined;
  /** The abort listener registered on the caller's signal, removed when the caller leaves the queue. */
  onAbort: (() => void) | undefined = undefined;

  constructor(
    /** Tokens reserved. */
    readonly count: number,
    /** The step of the grant; moves earlier only when an abort ahead of it is withdrawn. */
    public step: number,
    /** The shared debit just before this reservation was made. */
    public before: bigint,
    /** The shared debit this reservation wrote. */
    public after: bigint,
    readonly resolve: () => void,
    readonly reject: (reason: unknown) => void,
    readonly signal: AbortSignal | undefined,
  ) {}
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
