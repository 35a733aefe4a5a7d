/**
 * The shared bucket's whole mutable state as one integer, and the pure functions that move it.
 *
 * The core describes a bucket by a position (tokens, step): `tokens` whole tokens held just after step
 * `step` of the refill schedule. The shared bucket folds that pair into one signed integer, the
 * **debit**
 *
 *     D = step × refillTokens − tokens
 *
 * which is what the bucket has handed out beyond its initial tokens, plus what the cap threw away,
 * counted in tokens. Between updates the bucket refills uncapped, which leaves D unchanged, so the
 * tokens held at any later step k are simply `min(capacity, k × refillTokens − D)`; only the cap and
 * the grants move D, always upwards. Because one integer says everything, one
 * `Atomics.compareExchange` on one `BigInt64` word moves the bucket, whichever thread does it.
 *
 * Callers that must wait do not queue in shared memory: each *reserves* its tokens at the first step
 * at which the schedule covers them, pushing D past what the current step covers (the bucket goes
 * into debt). `k × refillTokens − D < 0` at the current step k therefore means exactly "somebody has a
 * reservation that is not yet due", which is how `tryGetToken()` in any thread knows not to barge.
 * Each reservation is an exact replica of the core's FIFO grant (`grantNext` on the tail of the
 * queue), so a sequence of operations gives the same grants, at the same steps, as the core.
 *
 * Everything here is pure: no clock, no shared memory. Steps are safe integers (`number`); token
 * amounts and D are `bigint`, so nothing rounds however large `step × refillTokens` grows. Only the
 * shared word itself is bounded: see {@link MAX_DEBIT}.
 */

/**
 * The largest debit the shared `BigInt64` word can hold, 2^63 − 1: `BigInt64Array` stores any other
 * value modulo 2^64 (a wrapped debit would read as a full bucket), so nothing larger may be written.
 *
 * Why every accepted bucket stays within it. Let r be the step size, `min(refillTokens, capacity)`
 * (tokens beyond the capacity are discarded at every step, so the shared bucket counts in steps of r,
 * observably the same), I the `refillInterval` and c the capacity. The options check guarantees
 * r / I ≤ 2^20 tokens per ms; clock readings, the origin included, lie within ±2^42 ms, so a valid
 * reading is at most 2^43 ms after the origin and the current step k satisfies k × I ≤ 2^43, hence
 *
 *     k × r ≤ 2^43 × (r / I) ≤ 2^43 × 2^20 = 2^63.
 *
 * (k ≤ 2^43 / 0.001 < 2^53 is also a safe integer.) The debit D = step × r − tokens then stays in
 * [−c, k × r] ⊂ [−2^53, 2^63] through every take, cap and withdrawal at the current step: it reaches
 * 2^63, one above the word, only at the very edge (a reading 2^43 ms after the origin, at the fastest
 * rate), and every write checks. A reservation reaches past the current step: it lands at a step g with
 * D ≤ g × r, so a debit above 2^63 − 1 means g × r ≥ 2^63, g × I ≥ 2^63 / 2^20 = 2^43: a grant at
 * least 2^43 ms after the origin, beyond every valid reading of a bucket created at a reading ≥ 0. The
 * shared bucket refuses such a take or reservation with a `RangeError` (its caller could never be
 * served) and writes nothing.
 */
export const MAX_DEBIT = 2n ** 63n - 1n;

/** The constants of a schedule in the units of the debit: whole tokens, as `bigint`. */
export interface DebitParams {
  /** Most tokens the bucket holds. Positive. */
  readonly capacity: bigint;
  /** Tokens added at each step. Positive. */
  readonly refillTokens: bigint;
}

/** Returns the debit of a bucket holding `initialTokens` at step 0 (its creation). */
export function initialDebit(initialTokens: number): bigint {
  return -BigInt(initialTokens);
}

/**
 * Returns the tokens held at the step whose `step × refillTokens` is `stepTokens`, for debit `debit`:
 * at most `capacity`, and negative while reservations not yet due are outstanding (their debt).
 */
export function tokensAt(params: DebitParams, debit: bigint, stepTokens: bigint): bigint {
  const tokens = stepTokens - debit;
  return tokens < params.capacity ? tokens : params.capacity;
}

/**
 * Takes `count` tokens at the step whose `step × refillTokens` is `stepTokens`, if they are held and
 * no reservation is outstanding. Returns the new debit, or undefined when the tokens are not there.
 * This is `tryGetToken()`.
 */
export function take(params: DebitParams, debit: bigint, stepTokens: bigint, count: bigint): bigint | undefined {
  const tokens = stepTokens - debit; // before the cap: count ≤ capacity, so the cap cannot matter here
  if (tokens < count) return undefined;
  // Uncapped, the debit grows by the count; capped, the tokens above capacity are gone as well.
  return tokens > params.capacity ? stepTokens - params.capacity + count : debit + count;
}

/** Where a `getToken()` lands: the step of its grant and the debit once its tokens are taken. */
export interface Reservation {
  /** The step at which the tokens are granted: the current step when they are there now. */
  readonly step: number;
  /** The debit after the grant. */
  readonly debit: bigint;
}

/** Returns ⌈a / b⌉ for b > 0 (bigint division truncates towards zero). */
function ceilDiv(a: bigint, b: bigint): bigint {
  return a >= 0n ? (a + b - 1n) / b : -(-a / b);
}

/**
 * Reserves `count` tokens (1 ≤ count ≤ capacity) for a caller arriving at step `step`, behind every
 * reservation already in `debit`: returns the first step, not before `step`, at which the schedule
 * covers them, and the debit after they are taken there. A result at `step` itself means "granted
 * now". This is the core's `grantNext` on the tail of the queue, in debit form.
 */
export function reserve(params: DebitParams, debit: bigint, step: number, count: bigint): Reservation {
  // tokensAt(k) ≥ count  ⇔  k × refillTokens − debit ≥ count, because count ≤ capacity.
  let grant = ceilDiv(debit + count, params.refillTokens);
  const now = BigInt(step);
  if (grant < now) grant = now;
  const stepTokens = grant * params.refillTokens;
  return { step: Number(grant), debit: stepTokens - tokensAt(params, debit, stepTokens) + count };
}

/**
 * Replays reservations of `counts` (in order) starting from `debit` at step `step`: what they become
 * when an earlier reservation is withdrawn from under them. Returns one reservation per count; each
 * lands no later than it did before the withdrawal.
 */
export function replay(params: DebitParams, debit: bigint, step: number, counts: readonly bigint[]): Reservation[] {
  const result: Reservation[] = [];
  let current = debit;
  for (const count of counts) {
    const reservation = reserve(params, current, step, count);
    result.push(reservation);
    current = reservation.debit;
  }
  return result;
}

/** A reservation as its thread remembers it: how many tokens, and the debit before and after it. */
export interface HeldReservation {
  readonly count: number;
  readonly before: bigint;
  readonly after: bigint;
}

/** What withdrawing a reservation does: the debit to write, and where the ones behind it land. */
export interface Withdrawal {
  /** The debit once the reservation and those behind it are re-reserved without it. */
  readonly debit: bigint;
  /** The new reservation of each one kept, in order. */
  readonly moved: Reservation[];
}

/**
 * Decides whether a thread can give back the tokens of reservations it withdraws (aborted callers), at
 * step `step`, when the shared debit reads `debit`. `chain` is the thread's reservations in order, from
 * the first withdrawn one to its latest; `withdrawn(item, index)` tells which are withdrawn (by default
 * only the first, `index === 0`).
 *
 * It can only when nobody else has drawn from the bucket since: each reservation of the chain was made
 * right on top of the one before (`before` equals the previous `after`) and the debit still reads the
 * last `after`. Then the ones kept are re-reserved, in order, from where the first stood (they move
 * up) and the result is the debit to compare-and-exchange in place of `debit`. Otherwise it returns
 * undefined: later reservations of other threads are counted on the withdrawn tokens, so they must stay
 * taken (the withdrawn steps pass unused).
 */
export function withdraw<T extends HeldReservation>(
  params: DebitParams,
  debit: bigint,
  step: number,
  chain: readonly T[],
  withdrawn: (item: T, index: number) => boolean = (_item, index) => index === 0,
): Withdrawal | undefined {
  const first = chain[0];
  if (first === undefined) return undefined;
  let after = first.before;
  const kept: bigint[] = [];
  for (let index = 0; index < chain.length; index += 1) {
    const item = chain[index] as T;
    if (item.before !== after) return undefined; // trivially equal for the first one
    after = item.after;
    if (!withdrawn(item, index)) kept.push(BigInt(item.count));
  }
  if (debit !== after) return undefined;
  const moved = replay(params, first.before, step, kept);
  const last = moved[moved.length - 1];
  return { debit: last === undefined ? first.before : last.debit, moved };
}
