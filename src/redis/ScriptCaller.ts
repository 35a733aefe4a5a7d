/**
 * The bucket script's caller: the calls and takes of one store instance (or one keyed store), sent
 * through the breakers, timed out by {@link CallTimeouts}, batched per key by {@link TakeLanes}, their
 * answers decoded and settled by `answers.ts`.
 */
import { readAnswer, settleAnswer } from './answers.js';
import { PendingCall, Send, type Lane, type TakeRequest } from './batches.js';
import { afterMacrotask, Breakers } from './Breaker.js';
import { CallTimeouts } from './CallTimeouts.js';
import type { RedisScriptRunner } from './clients.js';
import { RedisTimeoutError, RedisUnavailableError, type ScriptFailure } from './errors.js';
import { evalScript } from './evalScript.js';
import { InFlight } from './InFlight.js';
import { LossWatch } from './LossWatch.js';
import { TAKES_HEADER, takeLength } from './protocol.js';
import type { ScriptReply } from './replies.js';
import { TakeLanes } from './TakeLanes.js';

export type { TakeRequest } from './batches.js';
export type { ScriptReply } from './replies.js';

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
  /** Calls awaiting their reply, in call order, and the one timer that times them out. */
  private readonly timeouts: CallTimeouts;
  /** The takes of each key with takes waiting or in flight. */
  private readonly lanes: TakeLanes;
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
    this.timeouts = new CallTimeouts(
      timeout,
      (call) => this.timedOut(call),
      (lane) => {
        this.lanes.flush(lane);
      },
    );
    this.lanes = new TakeLanes(
      this.breakers,
      this.inFlight,
      (key, args, members, again) => this.send(key, args, members, again),
      () => {
        this.timeouts.dropSettled();
      },
    );
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
    this.lanes.sendWaiting(key);
    this.send(key, args, [this.pending(length, resolve, reject, late, undefined, undefined)], undefined, probe);
  }

  /**
   * Sends one take (op 1) on `key`: at once when no take on `key` is in flight, otherwise in the next
   * call, with every take made on `key` until then (up to `MAX_BATCH`). `resolve` gets a reply
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
    const lane = this.lanes.of(key);
    this.lanes.queue(lane, this.pending(TAKES_HEADER + takeLength(1), resolve, reject, late, lane, request));
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
    const call = new PendingCall(this.timeouts.deadline(), length, resolve, reject, late, lane, request);
    this.timeouts.add(call);
    this.inFlight.add(1);
    return call;
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
    const answer = readAnswer(send.members, reply, error);
    // A reply after every caller's timeout says nothing about Redis now: the breaker stays as it is.
    if (send.members.some((call) => !call.timedOut)) {
      if (answer.replies !== undefined || answer.ofKey) this.breakers.succeeded(send.key, send);
      else this.breakers.failed(send.key, answer.failure, send);
    }
    settleAnswer(send, answer, this.breakers.retryAfter(send.key));
    this.timeouts.dropSettled();
    this.lanes.answered(send);
    this.inFlight.done(send.members.length);
  }

  /** `call` (marked timed out by {@link timeouts}) rejects; returns its lane if its whole batch timed out. */
  private timedOut(call: PendingCall): Lane | undefined {
    const cause = new RedisTimeoutError(this.timeout);
    const sent = call.sent;
    const key = (sent?.key ?? call.lane?.key) as string;
    this.breakers.failed(key, cause, sent);
    let freed: Lane | undefined;
    if (sent !== undefined) {
      sent.unsettled -= 1;
      // Its whole batch timed out: the key's next takes go without waiting for that reply.
      if (sent.unsettled === 0 && call.lane?.busy === sent) {
        call.lane.busy = undefined;
        freed = call.lane;
      }
    }
    call.reject(new RedisUnavailableError(cause, this.breakers.retryAfter(key)));
    return freed;
  }

  /**
   * The store is closed: once no call is pending (the background give-backs of `close()` included),
   * the timeout timer is cleared instead of left armed until it fires. While the store is open it
   * stays armed after the last reply (one `setTimeout` per `redisTimeout` at most, not one per call).
   */
  close(): void {
    this.timeouts.close();
  }
}
