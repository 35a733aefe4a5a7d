/**
 * The reconfigure of a Redis bucket's tail: what it sends to put new limits in force, and what its
 * reply does to the calls it re-planned.
 */
import { readClock } from '../clock.js';
import type { Call } from './calls.js';
import { OP_RECONFIGURE, replayArgs, ScriptConfig, TAKE_TOO_LATE, type ReplayPair } from './protocol.js';
import type { RedisBucket } from './RedisBucket.js';
import type { Reservations } from './Reservations.js';
import { reorder, rewriteTakes, topBelow } from './rewriteReplies.js';
import type { TailRewriter } from './TailRewriter.js';

/**
 * Puts `next` in force in Redis: this bucket's last reservations (the longest run on top of each other
 * ending with its latest) are given back and their live callers re-planned under the new limits in
 * the same call (a count above the new capacity rejects with `RangeError`, a broken `maxWait` with
 * `MaxWaitExceededError`); callers below that run, and every other process's, keep their
 * reservations, and the new limits start at the tail. Calls `resolve` on success, `reject` with
 * `RedisUnavailableError` otherwise (nothing changed then).
 *
 * `sleepers` are the bucket's calls holding reservations, and `start` the index in it of the first of
 * that run (their length while a take is in flight); the call is sent through `rewriter`. Throws
 * `InvalidClockReadingError` on an invalid reading of the bucket's clock (nothing sent).
 */
export function reconfigureTail(
  bucket: RedisBucket,
  sleepers: Reservations,
  start: number,
  rewriter: TailRewriter,
  next: ScriptConfig,
  resolve: () => void,
  reject: (error: unknown) => void,
): void {
  const now = bucket.key.backgroundNow() ?? String(readClock(bucket.key.timeClock)); // throws on an invalid reading
  const local = readClock(bucket.key.timeClock);
  const chain = sleepers.slice(start);
  const kept = chain.filter((call) => call.state === 'sleeping' && call.count <= next.capacity);
  const elapsed = kept.map((call) => local - call.calledAt);
  const pairs = kept.map((call, i): ReplayPair => {
    const maxWait = call.maxWait === undefined ? undefined : Math.max(0, call.maxWait - (elapsed[i] ?? 0));
    return [call.count, maxWait];
  });
  const top = chain[chain.length - 1]?.reservation;
  const args = replayArgs(top, chain[0]?.reservation, pairs);
  const initial = (config: ScriptConfig): string[] => bucket.key.args(OP_RECONFIGURE, now, args, config);
  rewriter.rewrite(
    initial(next),
    (values, stored) => {
      bucket.key.adopt(stored === undefined ? next : ScriptConfig.parse(stored));
      // In call order, as in-process: first the counts above the new capacity, then broken maxWaits.
      for (const call of [...bucket.waits.room])
        if (call.count > next.capacity) bucket.waits.overCapacity(call, next.capacity);
      if (values[0] === 1) {
        replanned(bucket, sleepers, start, chain, kept, elapsed, values);
        reorder(bucket);
      } else for (const call of chain) call.reservation = undefined; // below the new tail for good
      resolve();
    },
    reject,
  );
}

/**
 * Like `replayed` (`rewriteReplies.ts`), for a reconfigure: a kept call the new limits would grant too
 * late rejects (`elapsed`: ms since each kept call was made).
 */
function replanned(
  bucket: RedisBucket,
  sleepers: Reservations,
  start: number,
  chain: readonly Call[],
  kept: readonly Call[],
  elapsed: readonly number[],
  values: readonly number[],
): void {
  const takes = rewriteTakes(bucket, values, kept.length);
  topBelow(sleepers, start, chain, values);
  for (const call of chain) call.reservation = undefined;
  kept.forEach((call, index) => {
    const take = takes[index];
    if (take === undefined) return;
    if (take.status === TAKE_TOO_LATE) {
      if (call.state === 'sleeping') bucket.waits.maxWaitBroken(call, take.wait + (elapsed[index] ?? 0));
      return;
    }
    call.reservation = take.reservation;
    if (call.state !== 'sleeping') return; // aborted meanwhile (a dead one now), or granted
    try {
      call.deadline = bucket.key.deadline(take.wait, take.grantAt);
    } catch {
      // An invalid local reading: keep the old instant.
    }
  });
}
