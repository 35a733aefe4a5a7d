import { globalClock, readClock, tryReadClock, type Clock } from '../clock.js';
import type { BucketCounters } from '../core/counters.js';
import { deferred } from '../core/deferred.js';
import type { SignalWatch } from '../core/SignalWatch.js';
import { WaitingRoom, type WaitPlan } from '../core/WaitingRoom.js';
import { WaiterExtras } from '../core/WaiterQueue.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { resolveReconfigure } from '../options/bucketOptions.js';
import { checkCount, readGetTokenOptions, type GetTokenRequest } from '../options/requestOptions.js';
import type { GetTokenOptions, ReconfigureOptions, TokenBucketFilter, TokenBucketStats } from '../TokenBucketFilter.js';
import type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
import { Call, epochClock } from './calls.js';
import { RedisUnavailableError } from './errors.js';
import { GiveBacks } from './GiveBacks.js';
import type { RedisConfig } from './options.js';
import {
  OP_PEEK,
  OP_TAKE,
  ScriptConfig,
  TAKE_GRANTED,
  TAKE_OVER_CAPACITY,
  TAKE_RESERVED,
  TAKE_TOO_LATE,
  takeAt,
  takeLength,
  type TakeReply,
} from './protocol.js';
import type { ScriptCaller, ScriptReply } from './ScriptCaller.js';

/** The configuration a bucket sends with every call: its own, or its keyed store's (shared by every key). */
export interface SentConfig {
  current: ScriptConfig;
}

/** What a Redis bucket is made of. The keyed store shares everything but the key among its buckets. */
export interface RedisBucketParts {
  readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  /** The Redis key holding the bucket's configuration and state. */
  readonly redisKey: string;
  readonly sent: SentConfig;
  readonly counters: BucketCounters;
  /** The abort listeners: the keyed store's (one per signal for every key), or undefined: the bucket's own. */
  readonly signals: SignalWatch | undefined;
  readonly fallback: TokenBucketFilter | undefined;
  /** The script's origin argument for a first call that finds no key: '' (now), or a client-time reading. */
  readonly origin: string;
  /** Whether a missing key is a full bucket from the first call on (the keyed store's keys). */
  readonly started: boolean;
}

/**
 * RedisBucket is the behaviour of one Redis bucket, on parts given to it: `RedisTokenBucketFilter`
 * (which reads its parts from the user's options) and every key of `RedisKeyedTokenBucketFilter` (whose
 * parts are the store's) are RedisBuckets. Internal: see `RedisTokenBucketFilter` for the contract.
 * Decisions are the script's (a port of `src/core/decide.ts`); this class only sends them, sleeps until
 * the instants they return, and gives reservations back through {@link GiveBacks}.
 */
export class RedisBucket implements AsyncTokenBucketFilter {
  /** The Redis key holding this bucket's configuration and state. */
  readonly redisKey: string;
  private readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  private readonly counters: BucketCounters;
  private readonly sent: SentConfig;
  /** The configuration in force in Redis as last seen (the one sent, until a reply says otherwise). */
  private view: ScriptConfig;
  private readonly fallback: TokenBucketFilter | undefined;
  private readonly origin: string;
  /**
   * This instance's waiting callers: a call whose take is in flight is held, a reserved one is queued
   * (FIFO, in reply order) until its instant; one head timer, one abort listener per signal, close.
   */
  readonly room: WaitingRoom<Call>;
  /** Reservations in Redis order, and give-backs. */
  private readonly giveBacks: GiveBacks;
  /** The takes sent so far. */
  takesSent = 0;
  private closed = false;
  /**
   * Whether a call of this bucket has had a reply, so the key exists or existed: from then on a missing
   * key has expired once full, and is passed to the script as a full bucket.
   */
  private started: boolean;

  constructor(parts: RedisBucketParts) {
    this.config = parts.config;
    this.caller = parts.caller;
    this.redisKey = parts.redisKey;
    this.sent = parts.sent;
    this.view = parts.sent.current;
    this.counters = parts.counters;
    this.fallback = parts.fallback;
    this.origin = parts.origin;
    this.started = parts.started;
    this.giveBacks = new GiveBacks(this);
    const plan: WaitPlan<Call> = {
      dueAt: (head) => head.deadline,
      granting: (head) => {
        head.state = 'done';
        this.granted(head.count);
        this.giveBacks.granting(head);
      },
      dropped: (dropped) => {
        for (const call of dropped) call.unwanted = true;
        if (this.closed) return;
        // A call still sending has no reservation yet: its reply gives it back (unwantedReply).
        for (const call of dropped) if (call.state === 'sleeping') call.state = 'done';
        this.giveBacks.withdrawAborted();
      },
    };
    const timeClock = (): Clock => this.timeClock;
    this.room = new WaitingRoom(
      plan,
      {
        tryNow: () => tryReadClock(timeClock()),
        // Looked up at each use: the default clock is the global one as it is then.
        get clock() {
          return timeClock();
        },
      },
      { signals: parts.signals, counters: parts.counters },
    );
  }

  /** The largest count one call may ask for: the smallest capacity of the limits in force in Redis as last seen. */
  get capacity(): number {
    return this.view.capacity;
  }

  /** Callers of this instance waiting right now: sent to Redis, or sleeping on a reservation. */
  get pending(): number {
    return this.room.length;
  }

  /** Whether `close()` has been called. */
  get isClosed(): boolean {
    return this.closed;
  }

  async available(): Promise<number> {
    if (this.closed) return 0;
    const args = this.args(OP_PEEK, this.decisionNow(), ['1']);
    try {
      return (await this.ask(args, 3))[1] ?? 0;
    } catch (error) {
      if (this.fallback === undefined) throw error;
      return this.fallback.available;
    }
  }

  async tryGetToken(count = 1): Promise<boolean> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const args = this.args(OP_TAKE, this.decisionNow(), [String(count), '0']);
    let granted: boolean;
    try {
      const take = this.readTake(await this.ask(args, takeLength(1), this.late), 0);
      if (take.status === TAKE_OVER_CAPACITY) throw checkCount(count, this.capacity) as RangeError;
      granted = take.status === TAKE_GRANTED;
    } catch (error) {
      if (error instanceof RangeError) throw error;
      granted = this.fallback === undefined ? this.config.failMode === 'open' : this.fallback.tryGetToken(count);
    }
    if (granted) this.granted(count);
    else this.counters.denied += 1;
    return granted;
  }

  async waitTime(count = 1): Promise<number> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const args = this.args(OP_PEEK, this.decisionNow(), [String(count)]);
    let values: number[];
    try {
      values = await this.ask(args, 3);
    } catch (error) {
      if (this.fallback === undefined) throw error;
      return this.fallback.waitTime(count);
    }
    if (values[0] === TAKE_OVER_CAPACITY) throw checkCount(count, this.capacity) as RangeError;
    return values[2] ?? 0;
  }

  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    // Nothing here may throw: every refusal, a throwing getter or clock included, becomes a rejection.
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const invalid = checkCount(count, this.capacity);
      if (invalid !== undefined) return Promise.reject(invalid);
      return this.send(count, readGetTokenOptions(options));
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /**
   * Changes the limits in Redis, for every process sharing the key; see
   * `RedisTokenBucketFilter.reconfigure()`. Rejects (never throws) on invalid options, after `close()`,
   * and with `RedisUnavailableError` when Redis does not take it (then nothing changed).
   */
  reconfigure(options: ReconfigureOptions): Promise<void> {
    try {
      if (this.closed) return Promise.reject(new BucketClosedError());
      const limits = resolveReconfigure(options, this.view.limits);
      const stamp = Math.max(Date.now(), this.sent.current.stamp + 1, this.view.stamp + 1);
      return this.reconfigureTo(new ScriptConfig(limits, stamp));
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
  }

  /** Puts `next` in force in Redis (and, on success, as the configuration this bucket sends). */
  reconfigureTo(next: ScriptConfig): Promise<void> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const { promise, resolve, reject } = deferred();
    try {
      this.giveBacks.reconfigure(next, resolve, reject);
    } catch (invalid) {
      reject(invalid); // an invalid clock reading: nothing was sent
    }
    return promise;
  }

  /** Returns a snapshot of this instance's counters (a keyed store's: of all its keys); never throws. */
  stats(): TokenBucketStats {
    return this.counters.snapshot();
  }

  /**
   * Rejects each waiter of this instance with `BucketClosedError` (giving their reserved tokens back
   * where that is safe, in the background), stops its timer, and makes later calls fail the same way.
   * The bucket in Redis is untouched. Closing twice is harmless.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const call of this.room.close(new BucketClosedError())) {
      call.state = 'done';
      call.unwanted = true;
    }
    this.giveBacks.closed();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Resolves once every Redis call this instance started has its reply (or after twice `redisTimeout`). */
  idle(): Promise<void> {
    return this.caller.idle();
  }

  /** Where decisions read time (client time), or where local sleeps are measured (Redis time). */
  get timeClock(): Clock {
    return this.config.clock ?? (this.config.clientTime ? epochClock : globalClock());
  }

  /** The configuration in force in Redis as last seen. */
  get inForce(): ScriptConfig {
    return this.view;
  }

  /** Makes `next` the configuration this bucket sends, and the one it sees in force. */
  adopt(next: ScriptConfig): void {
    this.sent.current = next;
    this.view = next;
  }

  /** The script's `now` for a background call, or undefined on an invalid client-time reading. */
  backgroundNow(): string | undefined {
    if (!this.config.clientTime) return '';
    const now = tryReadClock(this.timeClock);
    return now === undefined ? undefined : String(now);
  }

  /**
   * The script's arguments for `op` at `now` ('' for Redis TIME), sending `config` (by default the
   * bucket's), followed by `tail`.
   */
  args(op: number, now: string, tail: readonly string[], config = this.sent.current): string[] {
    const initial = config.limits.map(({ capacity }, i) =>
      String(this.started ? capacity : Math.min(capacity, this.config.limits[i]?.initialTokens ?? capacity)),
    );
    return [String(op), ...config.head, now, this.origin, ...initial, ...tail];
  }

  /** Notes a reply: the key exists, and the configuration in force is the stored one it names, if any. */
  observe(reply: ScriptReply): number[] {
    this.started = true;
    if (reply.stored === undefined) this.view = this.sent.current;
    else if (reply.stored !== this.view.text) {
      try {
        this.view = ScriptConfig.parse(reply.stored);
      } catch (invalid) {
        throw new RedisUnavailableError(invalid);
      }
    }
    return reply.values;
  }

  /** Reads the take at `offset`, throwing `RedisUnavailableError` when the reply is malformed. */
  readTake(values: readonly number[], offset: number): TakeReply {
    try {
      return takeAt(values, offset, this.view.limits.length);
    } catch (invalid) {
      throw new RedisUnavailableError(invalid);
    }
  }

  /**
   * The local clock reading at which a take granted `grantAt` (the decision's time), `wait` ms after
   * the decision, is due: `grantAt` itself with client time, the local reading now plus `wait` with
   * Redis time. Throws `InvalidClockReadingError` when that local reading is invalid.
   */
  deadline(wait: number, grantAt: number): number {
    return this.config.clientTime ? grantAt : readClock(this.timeClock) + wait;
  }

  /** Settles `call`, released from the room (or never queued), as rejected with `reason`. */
  refuseReleased(call: Call, reason: unknown): void {
    call.state = 'done';
    this.room.unwatch(call);
    call.reject(reason);
  }

  /** Rejects `call`, which asks for more than `capacity`, the new one (`reconfigure()`). */
  overCapacity(call: Call, capacity: number): void {
    call.state = 'done';
    call.unwanted = true;
    this.counters.overCapacity += 1;
    this.room.refuse(
      call,
      new RangeError(`count must not exceed the new capacity (${capacity}), received ${call.count}`),
    );
  }

  /** Rejects `call`, which the new limits (`reconfigure()`) would grant `waitTime` ms after its call, past its `maxWait`. */
  maxWaitBroken(call: Call, waitTime: number): void {
    call.state = 'done';
    call.unwanted = true;
    this.counters.maxWaitExceeded += 1;
    this.room.refuse(call, new MaxWaitExceededError(waitTime, call.maxWait ?? 0));
  }

  /** Counts a grant of `count` tokens. */
  granted(count: number): void {
    this.counters.granted += 1;
    this.counters.tokensGranted += count;
  }

  /** Runs the script and notes its reply; rejects with `RedisUnavailableError`. */
  private async ask(args: string[], length: number, late?: (reply: ScriptReply) => void): Promise<number[]> {
    return this.observe(await this.caller.run(this.redisKey, args, length, late));
  }

  /** The script's `now`: this process's reading with client time, '' (Redis TIME) otherwise. Throws on an invalid reading. */
  private decisionNow(): string {
    return this.config.clientTime ? String(readClock(this.timeClock)) : '';
  }

  /**
   * `getToken()` once the bucket is open and `count` and the options are valid: sends the take. Throws
   * (the caller rejects with it) `InvalidClockReadingError` and what the signal's `addEventListener`
   * throws, in both cases having sent nothing.
   */
  private send(count: number, request: GetTokenRequest): Promise<void> {
    const { signal, maxWait } = request;
    // The decision's time (client time), or the clock the caller may have to sleep on (Redis time).
    const now = readClock(this.timeClock);
    const { promise, resolve, reject } = deferred();
    const extras =
      signal === undefined
        ? undefined
        : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, this.room);
    const call = new Call(this.takesSent + 1, count, resolve, extras, reject, maxWait, now);
    // Watched before anything is sent: a signal whose addEventListener throws reserves nothing.
    this.room.watch(call);
    this.takesSent = call.seq; // counted only once it is sure to be sent
    this.room.hold(call);
    const maxWaitArg = maxWait === undefined || maxWait === Number.POSITIVE_INFINITY ? '' : String(maxWait);
    const args = this.args(OP_TAKE, this.config.clientTime ? String(now) : '', [String(count), maxWaitArg]);
    const onReply = (reply: ScriptReply): void => {
      this.answered(call, reply);
    };
    this.caller.call(
      this.redisKey,
      args,
      takeLength(1),
      onReply,
      (error) => {
        this.unavailable(call, error);
        this.giveBacks.takeAnswered(call.seq); // or failed: its script may run later, and then a withdraw just fails
      },
      onReply, // a reply after our timeout: the call failed meanwhile, and what it took goes back
    );
    return promise;
  }

  private answered(call: Call, reply: ScriptReply): void {
    let take: TakeReply;
    try {
      take = this.readTake(this.observe(reply), 0);
    } catch (invalid) {
      this.unavailable(call, invalid);
      this.giveBacks.takeAnswered(call.seq);
      return;
    }
    this.settleTake(call, take);
    this.giveBacks.takeAnswered(call.seq);
  }

  /** What the reply of `call`'s take means for it. */
  private settleTake(call: Call, take: TakeReply): void {
    const { status, wait, grantAt } = take;
    if (call.state !== 'sending' || !this.room.release(call)) {
      // Aborted, failed or closed while the script ran: give back what it took, when that is safe.
      call.state = 'done';
      this.giveBacks.unwantedReply(call, take);
      return;
    }
    if (status === TAKE_GRANTED) {
      call.state = 'done';
      this.granted(call.count);
      this.room.grantHeld(call);
    } else if (status === TAKE_TOO_LATE) {
      this.counters.maxWaitExceeded += 1;
      this.refuseReleased(call, new MaxWaitExceededError(wait, call.maxWait ?? 0));
    } else if (status === TAKE_RESERVED) {
      let deadline: number;
      try {
        // Reserved under limits a reconfiguration has replaced since, beyond the new capacity: refused.
        const overCapacity = call.count > this.capacity ? checkCount(call.count, this.capacity) : undefined;
        if (overCapacity !== undefined) throw overCapacity;
        deadline = this.deadline(wait, grantAt);
      } catch (refusal) {
        // Or Redis time, and the local clock cannot say when to wake: refuse, and give the tokens back.
        this.refuseReleased(call, refusal);
        call.unwanted = true;
        this.giveBacks.unwantedReply(call, take);
        return;
      }
      this.giveBacks.sleep(call, take.reservation, deadline);
    } else {
      this.refuseReleased(
        call,
        status === TAKE_OVER_CAPACITY
          ? checkCount(call.count, this.capacity)
          : new RedisUnavailableError(new TypeError(`unexpected status ${String(status)} from the bucket script`)),
      );
    }
  }

  private unavailable(call: Call, error: unknown): void {
    if (call.state !== 'sending') return;
    call.state = 'done';
    call.unwanted = true;
    if (!this.room.release(call)) return; // aborted or closed meanwhile: settled already
    if (this.fallback !== undefined) {
      const options: GetTokenOptions = {};
      if (call.extras?.signal !== undefined) options.signal = call.extras.signal;
      if (call.maxWait !== undefined) options.maxWait = call.maxWait;
      this.room.unwatch(call);
      this.fallback.getToken(call.count, options).then(() => {
        this.granted(call.count);
        call.resolve();
      }, call.reject);
    } else if (this.config.failMode === 'open') {
      this.granted(call.count);
      this.room.grantHeld(call);
    } else {
      this.refuseReleased(call, error);
    }
  }

  /** A `tryGetToken()` reply that came after our timeout: the caller was already answered, so give back what it took. */
  private readonly late = (reply: ScriptReply): void => {
    try {
      const take = this.readTake(this.observe(reply), 0);
      if (take.status === TAKE_GRANTED || take.status === TAKE_RESERVED) this.giveBacks.cancel(take.reservation);
    } catch {
      // A malformed late reply: nothing is known to give back.
    }
  };
}
