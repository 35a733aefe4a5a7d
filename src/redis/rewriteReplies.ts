/**
 * What a Redis bucket does with the reply of a tail rewrite that succeeded (a replay; a reconfigure's
 * and a pause's use the same parts): each kept call takes its new reservation and instant, and the
 * waiting room is put back in order.
 */
import { tryReadClock } from '../clock.js';
import type { Call } from './calls.js';
import { RedisUnavailableError } from './errors.js';
import { onTop, type TakeReply } from './protocol.js';
import type { RedisBucket } from './RedisBucket.js';
import type { Reservations } from './Reservations.js';

/** The takes of a rewrite's reply (after the 1 that says the chain was given back), one per kept call; throws if not. */
export function rewriteTakes(bucket: RedisBucket, values: readonly number[], kept: number): TakeReply[] {
  const takes = bucket.key.readTakes(values, 1);
  if (takes.length !== kept) {
    throw new RedisUnavailableError(
      new TypeError(`unexpected reply from the bucket script: ${takes.length} takes for ${kept}`),
    );
  }
  return takes;
}

/**
 * The call below `chain` (given back from index `start` of `sleepers`), if right under it, now tops
 * the tail: at generation `values[2]`.
 */
export function topBelow(
  sleepers: Reservations,
  start: number,
  chain: readonly Call[],
  values: readonly number[],
): void {
  const below = sleepers.at(start - 1);
  if (below?.reservation !== undefined && onTop(below.reservation, chain[0]?.reservation)) {
    below.reservation = { ...below.reservation, gen: values[2] ?? 0 };
  }
}

/**
 * A replay succeeded: the withdrawn in `chain` (from index `start` of `sleepers`) hold nothing any
 * more, the one below it (if right under it) now tops the tail, and each kept call holds its new
 * reservation and, if still sleeping, wakes at its new (earlier) instant. Kept calls aborted meanwhile
 * hold their new reservation as dead ones, for the next withdraw. Throws (changing nothing) if the
 * reply has not one take per kept call. The room is re-armed by the caller ({@link reorder}).
 */
export function replayed(
  bucket: RedisBucket,
  sleepers: Reservations,
  start: number,
  chain: readonly Call[],
  kept: readonly Call[],
  values: readonly number[],
): void {
  const takes = rewriteTakes(bucket, values, kept.length);
  topBelow(sleepers, start, chain, values);
  for (const call of chain) call.reservation = undefined;
  kept.forEach((call, index) => {
    const take = takes[index];
    if (take === undefined) return;
    call.reservation = take.reservation;
    if (call.state !== 'sleeping') return;
    try {
      call.deadline = bucket.key.deadline(take.wait, take.grantAt);
    } catch {
      // An invalid local reading: keep the old instant, later than the new one (never early).
    }
  });
}

/** Keeps local grants in order (nobody wakes before a call ahead of it), then re-arms the room. */
export function reorder(bucket: RedisBucket): void {
  let last = Number.NEGATIVE_INFINITY;
  for (const call of bucket.waits.room) {
    call.deadline = Math.max(call.deadline, last);
    last = call.deadline;
  }
  // The ones the tokens already cover are granted now; the timer is set for the new head's instant.
  bucket.waits.room.drain(tryReadClock(bucket.key.timeClock));
  bucket.waits.room.rearm();
}
