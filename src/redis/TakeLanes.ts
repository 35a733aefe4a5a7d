/**
 * The batching of a `ScriptCaller`'s takes: one lane per key with takes waiting or in flight, at most
 * one script call of takes in flight per key, and the takes made meanwhile sent together in the next.
 */
import { afterMicrotasks, Lane, MAX_BATCH, PendingCall, retriedArgs, Runs, Send, type TakeRequest } from './batches.js';
import type { Breakers } from './Breaker.js';
import { RedisUnavailableError, type ScriptFailure } from './errors.js';
import type { InFlight } from './InFlight.js';

/** The cause given to a take withdrawn before its call was sent (its caller was settled already). */
const WITHDRAWN = new Error('the take was withdrawn before it was sent');

/**
 * Sends one script call for `members` on `key` (see `ScriptCaller`); a retry sends `again()`'s
 * arguments. Returns the call sent.
 */
export type SendCall = (
  key: string,
  args: readonly string[],
  members: readonly PendingCall[],
  again: () => readonly string[],
) => Send;

/**
 * TakeLanes holds the takes of each key with takes waiting or in flight ({@link Lane}): while a script
 * call of takes on a key is in flight, the takes made on that key wait, and then travel together in
 * the next call (up to {@link MAX_BATCH}), in the order they were made.
 */
export class TakeLanes {
  /** The takes of each key with takes waiting or in flight. */
  private readonly lanes = new Map<string, Lane>();

  /**
   * @param breakers the caller's breakers: a batch whose key's breaker opened while it waited is refused
   * @param inFlight the caller's count of calls in flight, told of each take settled without a reply
   * @param send sends one batch
   * @param dropSettled drops the settled calls from the caller's timeouts, after each flush
   */
  constructor(
    private readonly breakers: Breakers,
    private readonly inFlight: InFlight,
    private readonly send: SendCall,
    private readonly dropSettled: () => void,
  ) {}

  /** The lane of `key`, made if it has none. */
  of(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    return lane;
  }

  /** Queues `call` (a take made on `lane`'s key): sent at once when no take on the key is in flight or due. */
  queue(lane: Lane, call: PendingCall): void {
    lane.queue.push(call);
    if (lane.busy === undefined && !lane.deferred) this.flush(lane);
  }

  /** Sends every take waiting on `key` now: a call of another kind on `key` is about to follow them. */
  sendWaiting(key: string): void {
    const lane = this.lanes.get(key);
    if (lane !== undefined) this.flush(lane, true);
  }

  /** The script call `send` has its answer (its members settled): its lane's next takes go. */
  answered(send: Send): void {
    const lane = (send.members[0] as PendingCall).lane;
    if (lane !== undefined && lane.busy === send) {
      lane.busy = undefined;
      // The callers a batch resumed are likely to call again at once: let them join the next call.
      if (send.members.length > 1) {
        lane.deferred = true;
        afterMicrotasks(() => {
          this.flush(lane);
        });
      } else this.flush(lane);
    }
  }

  /**
   * Sends the takes waiting on `lane`, in batches, while it has none in flight; all of them at once
   * with `now` (before another call on the key, which must not overtake them).
   */
  flush(lane: Lane, now = false): void {
    lane.deferred = false;
    while ((now || lane.busy === undefined) && lane.head < lane.queue.length) {
      const members: PendingCall[] = [];
      const tuples: (readonly string[])[] = [];
      const runs = new Runs();
      let first: readonly string[] | undefined;
      while (lane.head < lane.queue.length && members.length < MAX_BATCH) {
        const call = lane.queue[lane.head] as PendingCall;
        lane.head += 1;
        if (call.done) {
          this.inFlight.done(1); // timed out while it waited: never sent
          continue;
        }
        let tuple: readonly string[] | undefined;
        try {
          tuple = call.request?.tuple();
        } catch {
          tuple = undefined;
        }
        if (tuple === undefined) {
          this.settleUnsent(call, new RedisUnavailableError(WITHDRAWN));
          continue;
        }
        first ??= tuple;
        members.push(call);
        tuples.push(tuple);
        runs.add(tuple);
      }
      const last = members[members.length - 1];
      if (last === undefined || first === undefined) break;
      const refused = this.breakers.refusal(lane.key);
      if (refused !== undefined) {
        // The key's breaker opened while they waited (the call before them failed): they fail at once too.
        for (const call of members) this.settleUnsent(call, this.breakers.refusal(lane.key) ?? refused);
        continue;
      }
      // A retry (CLUSTERDOWN) asks the takes again: with Redis time their maxWait is counted down to then.
      const again = (): readonly string[] => retriedArgs(members, tuples);
      lane.busy = this.send(lane.key, runs.args((last.request as TakeRequest).head(first)), members, again);
    }
    if (lane.head >= lane.queue.length) {
      lane.queue = [];
      lane.head = 0;
      if (lane.busy === undefined && this.lanes.get(lane.key) === lane) this.lanes.delete(lane.key);
    } else if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
      lane.queue = lane.queue.slice(lane.head); // a key that always has more than a batch waiting
      lane.head = 0;
    }
    this.dropSettled();
  }

  /** Rejects a take that is not sent (withdrawn, or refused by the key's breaker) with `error`. */
  private settleUnsent(call: PendingCall, error: ScriptFailure): void {
    call.done = true;
    call.reject(error);
    // After its callback, as for an answered call: the calls it leads to (a withdraw) count before idle() wakes.
    this.inFlight.done(1);
  }
}
