import { timerDelay } from '../clock.js';
import { afterMicrotasks, Lane, MAX_BATCH, PendingCall, retriedArgs, Runs, Send, type TakeRequest } from './batches.js';
import { afterMacrotask, Breakers, realNow } from './Breaker.js';
import type { RedisScriptRunner } from './clients.js';
import { RedisKeyError, RedisTimeoutError, RedisUnavailableError, type ScriptFailure } from './errors.js';
import { evalScript, isKeyError } from './evalScript.js';
import { InFlight } from './InFlight.js';
import { LossWatch } from './LossWatch.js';
import { TAKES_HEADER, takeLength } from './protocol.js';
import { parseReply, splitTakes, type ScriptReply } from './replies.js';

export type { TakeRequest } from './batches.js';
export type { ScriptReply } from './replies.js';

interface TimerHandle {
  unref?(): unknown;
}

/** The cause given to a take withdrawn before its call was sent (its caller was settled already). */
const WITHDRAWN = new Error('the take was withdrawn before it was sent');

/**
 * ScriptCaller runs the bucket script for one store instance (or one keyed store): `EVALSHA`, falling
 * back to `EVAL` on `NOSCRIPT` on every call; its own timeout on every call; a circuit breaker; and a
 * count of the calls still in flight, so `idle()` can wait for them.
 *
 * Takes are batched per key ({@link take}): while a script call of takes on a key is in flight, the
 * takes made on that key wait, and then travel together in the next call, which the script decides in
 * their order; each caller gets its own take's outcome. So FIFO in order of arrival at Redis holds,
 * and a hot key costs one round trip per batch instead of one per call.
 *
 * Every call has the same timeout, counted from the call (a take's, not its batch's), so calls time
 * out in the order they were made: one timer, set for the oldest unanswered call, serves them all.
 *
 * The breakers, one per key ({@link Breakers}): after a failure of a call on a key, calls on that key
 * fail (without touching Redis) for `cooldown` ms, each after a macrotask, so that a retry loop
 * without a delay cannot starve the timers; then one call at a time probes Redis, and the first
 * success closes the key's breaker. A `cooldown` of 0 turns them off: every call tries Redis. An error
 * about the key itself (`WRONGTYPE`) rejects with `RedisKeyError` and trips no breaker; `CLUSTERDOWN`
 * and `TRYAGAIN` are retried within the callers' timeout (see `evalScript`).
 */
export class ScriptCaller {
  /** Calls in order; settled ones are dropped from the front. */
  private calls: PendingCall[] = [];
  private head = 0;
  private timer: unknown = undefined;
  /** The `clearTimeout` of the API that set {@link timer} (fake timers may have come or gone since). */
  private clearTimer: (handle: never) => void = () => undefined;
  /** Set by {@link close}: the timer is cleared once no call is pending, rather than left to fire. */
  private closing = false;
  /** The takes of each key with takes waiting or in flight. */
  private readonly lanes = new Map<string, Lane>();
  /** Calls whose reply has not arrived (including timed-out ones still running, and takes not sent yet). */
  private readonly inFlight = new InFlight();
  private readonly breakers: Breakers;
  /** Tells the buckets holding reservations when Redis may have lost their keys (a reconnect, `NOSCRIPT`). */
  readonly losses: LossWatch;

  constructor(
    private readonly runner: RedisScriptRunner,
    private readonly timeout: number,
    cooldown: number,
  ) {
    this.breakers = new Breakers(cooldown, timeout);
    this.losses = new LossWatch(runner);
  }

  /**
   * Runs the script on `key` with `args` and resolves with its reply (at least `length` numbers after the configuration).
   * Rejects with `RedisUnavailableError` when Redis fails, answers wrongly, or does not answer within
   * the timeout, or while the key's breaker is open (after a macrotask); with `RedisKeyError` when
   * Redis' error is about the key (`WRONGTYPE`); never anything else. When the answer comes after the
   * timeout, `late` receives it (so a reservation nobody will use can be given back).
   */
  run(key: string, args: readonly string[], length: number, late?: (reply: ScriptReply) => void): Promise<ScriptReply> {
    return new Promise((resolve, reject) => {
      this.call(key, args, length, resolve, reject, late);
    });
  }

  /**
   * Like {@link run}, with callbacks instead of a promise (one promise fewer on the hot path). Exactly
   * one of `resolve` and `reject` is called: `reject` after a macrotask while the key's breaker is
   * open, otherwise when Redis answers or the timeout passes. A `giveBack` (a call that only returns
   * tokens, sent when a late reply or a recovery shows that Redis answers) is sent whatever the key's
   * breaker says: holding it back would lose its tokens for good, and its outcome updates the breaker
   * like any call's. A re-assert after Redis lost a key goes the same way: it must land before other
   * processes' calls take the new key's tokens.
   */
  call(
    key: string,
    args: readonly string[],
    length: number,
    resolve: (reply: ScriptReply) => void,
    reject: (error: ScriptFailure) => void,
    late?: (reply: ScriptReply) => void,
    giveBack = false,
  ): void {
    let refused = this.breakers.refusal(key);
    // A give-back past an open breaker is not its probe: the key's callers keep waiting out the cooldown.
    const probe = refused === undefined;
    if (giveBack) refused = undefined;
    if (refused !== undefined) {
      afterMacrotask(() => {
        reject(refused);
      });
      return;
    }
    // The takes made on this key before this call reach Redis before it (in order, on the same connection).
    const lane = this.lanes.get(key);
    if (lane !== undefined) this.flush(lane, true);
    this.send(key, args, [this.pending(length, resolve, reject, late, undefined, undefined)], undefined, probe);
  }

  /**
   * Sends one take (op 1) on `key`: at once when no take on `key` is in flight, otherwise in the next
   * call, with every take made on `key` until then (up to {@link MAX_BATCH}). `resolve` gets a reply
   * holding this take's values alone. Callbacks as in {@link call}: a failure or a malformed reply of
   * the batch's call rejects every take in it; each take times out `timeout` ms after this call. A
   * call of another kind on `key` ({@link call}) first sends the takes waiting on it: it never overtakes them.
   */
  take(
    key: string,
    request: TakeRequest,
    resolve: (reply: ScriptReply) => void,
    reject: (error: ScriptFailure) => void,
    late?: (reply: ScriptReply) => void,
  ): void {
    const refused = this.breakers.refusal(key);
    if (refused !== undefined) {
      afterMacrotask(() => {
        reject(refused);
      });
      return;
    }
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key);
      this.lanes.set(key, lane);
    }
    lane.queue.push(this.pending(TAKES_HEADER + takeLength(1), resolve, reject, late, lane, request));
    if (lane.busy === undefined && !lane.deferred) this.flush(lane);
  }

  /** Like {@link take}, as a promise. */
  runTake(key: string, request: TakeRequest, late?: (reply: ScriptReply) => void): Promise<ScriptReply> {
    return new Promise((resolve, reject) => {
      this.take(key, request, resolve, reject, late);
    });
  }

  /**
   * Resolves once every call made so far (and every call their late replies led to) has its reply, or
   * after twice the timeout at most (a client may hold a command forever: an offline queue).
   */
  idle(): Promise<void> {
    return this.inFlight.idle(2 * this.timeout);
  }

  private pending(
    length: number,
    resolve: (reply: ScriptReply) => void,
    reject: (error: ScriptFailure) => void,
    late: ((reply: ScriptReply) => void) | undefined,
    lane: Lane | undefined,
    request: TakeRequest | undefined,
  ): PendingCall {
    const call = new PendingCall(realNow() + this.timeout, length, resolve, reject, late, lane, request);
    this.calls.push(call);
    if (this.timer === undefined) this.arm(this.timeout);
    this.inFlight.add(1);
    return call;
  }

  /**
   * Sends the takes waiting on `lane`, in batches, while it has none in flight; all of them at once
   * with `now` (before another call on the key, which must not overtake them).
   */
  private flush(lane: Lane, now = false): void {
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

  /**
   * Sends one script call for `members` (one caller, or a batch of takes on `key`); a retry sends
   * `again()`'s arguments, if given, else the same. With `probe` false it is never the key's probe.
   */
  private send(
    key: string,
    args: readonly string[],
    members: readonly PendingCall[],
    again?: () => readonly string[],
    probe = true,
  ): Send {
    const send = new Send(key, members, probe && this.breakers.probeNow(key));
    for (const call of members) call.sent = send;
    let attempts = 0;
    evalScript(
      this.runner,
      key,
      {
        args: () => (attempts++ === 0 || again === undefined ? args : again()),
        retrying: () => send.unsettled > 0,
      },
      (reply) => {
        this.answered(send, reply);
      },
      (error) => {
        this.answered(send, undefined, error);
      },
      this.losses.suspect,
    );
    return send;
  }

  private answered(send: Send, reply: unknown, error?: unknown): void {
    const members = send.members;
    let replies: ScriptReply[] | undefined;
    let failure = error;
    // An error about the key itself: Redis answered, and no other key is concerned.
    const ofKey = error !== undefined && isKeyError(error);
    if (error === undefined) {
      try {
        const parsed = parseReply(reply, members.length === 1 ? (members[0] as PendingCall).length : 1);
        replies = members.length === 1 ? [parsed] : splitTakes(parsed, members.length);
      } catch (invalid) {
        failure = invalid;
      }
    }
    // A reply after every caller's timeout says nothing about Redis now: the breaker stays as it is.
    if (members.some((call) => !call.timedOut)) {
      if (replies !== undefined || ofKey) this.breakers.succeeded(send.key, send);
      else this.breakers.failed(send.key, failure, send);
    }
    const retryAfter = this.breakers.retryAfter(send.key);
    members.forEach((call, i) => {
      const own = replies?.[i];
      if (call.timedOut) {
        if (own !== undefined) call.late?.(own);
        return;
      }
      call.done = true;
      if (own !== undefined) call.resolve(own);
      // Each caller its own error (they may be told apart, or changed, by their callers).
      else call.reject(ofKey ? new RedisKeyError(send.key, error) : new RedisUnavailableError(failure, retryAfter));
    });
    this.dropSettled();
    const lane = (members[0] as PendingCall).lane;
    if (lane !== undefined && lane.busy === send) {
      lane.busy = undefined;
      // The callers a batch resumed are likely to call again at once: let them join the next call.
      if (members.length > 1) {
        lane.deferred = true;
        afterMicrotasks(() => {
          this.flush(lane);
        });
      } else this.flush(lane);
    }
    this.inFlight.done(members.length);
  }

  /** Times out every call whose deadline has passed, then waits for the next oldest. */
  private readonly expire = (): void => {
    this.timer = undefined;
    const now = realNow();
    const freed: Lane[] = [];
    for (; this.head < this.calls.length; this.head += 1) {
      const call = this.calls[this.head] as PendingCall;
      if (call.done) continue;
      if (call.deadline > now) break;
      call.done = true;
      call.timedOut = true;
      const cause = new RedisTimeoutError(this.timeout);
      const sent = call.sent;
      const key = (sent?.key ?? call.lane?.key) as string;
      this.breakers.failed(key, cause, sent);
      if (sent !== undefined) {
        sent.unsettled -= 1;
        // Its whole batch timed out: the key's next takes go without waiting for that reply.
        if (sent.unsettled === 0 && call.lane?.busy === sent) {
          call.lane.busy = undefined;
          freed.push(call.lane);
        }
      }
      call.reject(new RedisUnavailableError(cause, this.breakers.retryAfter(key)));
    }
    this.dropSettled();
    // After the loop: the takes waiting on a freed key that are past their deadline have timed out too.
    for (const lane of freed) this.flush(lane);
    const next = this.calls[this.head];
    if (next !== undefined && this.timer === undefined) this.arm(next.deadline - now);
  };

  private arm(ms: number): void {
    const handle = globalThis.setTimeout(this.expire, timerDelay(ms)) as TimerHandle;
    handle.unref?.();
    this.timer = handle;
    this.clearTimer = globalThis.clearTimeout;
  }

  /**
   * The store is closed: once no call is pending (the background give-backs of `close()` included),
   * the timeout timer is cleared instead of left armed until it fires. While the store is open it
   * stays armed after the last reply (one `setTimeout` per `redisTimeout` at most, not one per call).
   */
  close(): void {
    this.closing = true;
    this.dropSettled();
  }

  private dropSettled(): void {
    while (this.head < this.calls.length && (this.calls[this.head] as PendingCall).done) this.head += 1;
    if (this.head === this.calls.length) {
      this.calls = [];
      this.head = 0;
      if (this.closing && this.timer !== undefined) {
        this.clearTimer(this.timer as never);
        this.timer = undefined;
      }
    } else if (this.head > 1024 && this.head * 2 > this.calls.length) {
      this.calls = this.calls.slice(this.head);
      this.head = 0;
    }
  }
}
