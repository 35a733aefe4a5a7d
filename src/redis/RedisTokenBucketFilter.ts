import { ClockRetry, ClockTimer, globalClock, readClock, tryReadClock, type Clock } from '../clock.js';
import { deferred } from '../core/deferred.js';
import { SignalWatch, type AbortOwner } from '../core/SignalWatch.js';
import { Waiter, WaiterExtras } from '../core/WaiterQueue.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { formatValue, ownOption } from '../options/format.js';
import { checkCount, readGetTokenOptions, type GetTokenRequest } from '../options/requestOptions.js';
import type { GetTokenOptions, TokenBucketFilter } from '../TokenBucketFilter.js';
import type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
import { RedisUnavailableError } from './errors.js';
import { checkKey, resolveRedisOptions, type RedisConfig, type RedisTokenBucketOptions } from './options.js';
import { ScriptCaller } from './ScriptCaller.js';
import {
  OP_PEEK,
  OP_TAKE,
  OP_WITHDRAW,
  TAKE_GRANTED,
  TAKE_REPLY_LENGTH,
  TAKE_RESERVED,
  TAKE_TOO_LATE,
} from './script.js';

/**
 * Epoch milliseconds, monotonic within the process: the default time of `timeSource: 'client'`
 * (`performance.timeOrigin + performance.now()`, about 1.7 × 10^12 ms, inside the ±2^42 ms a reading
 * must lie within). A `performance.now()` that is not a number is passed on untouched, so that
 * `readClock` refuses it as what it is. Only its readings are used: timers are set on `globalThis`.
 */
const epochClock: Clock = {
  performance: {
    now(): number {
      const performance = globalThis.performance as { now(): unknown; timeOrigin?: number };
      const reading = performance.now();
      return typeof reading === 'number' ? (performance.timeOrigin || 0) + reading : (reading as number);
    },
  },
  setTimeout: (callback, ms) => globalThis.setTimeout(callback, ms),
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle);
  },
  setInterval: (callback, ms) => globalThis.setInterval(callback, ms),
  clearInterval: (handle) => {
    globalThis.clearInterval(handle);
  },
};

/** Where a take moved the shared tail, so that it can be undone while it is on top. */
interface Reservation {
  readonly preTokens: number;
  readonly preStep: number;
  readonly postTokens: number;
  readonly postStep: number;
}

/** The reservation of the take whose 7 reply values start at `offset` of `reply`. */
function reservationAt(reply: readonly number[], offset: number): Reservation {
  const [preTokens = 0, preStep = 0, postTokens = 0, postStep = 0] = reply.slice(offset + 2, offset + 6);
  return { preTokens, preStep, postTokens, postStep };
}

/** Whether `upper` was reserved right on top of `lower`: nobody else's reservation lies between them. */
function onTop(lower: Reservation | undefined, upper: Reservation | undefined): boolean {
  return (
    lower !== undefined &&
    upper !== undefined &&
    upper.preTokens === lower.postTokens &&
    upper.preStep === lower.postStep
  );
}

/**
 * One `getToken()` call of this instance, from the call until it settles, and after that while its
 * tokens may still be given back. A core `Waiter`, so that the core's `SignalWatch` holds it as it is.
 */
class Call extends Waiter {
  /** `'sending'`: the script has not answered; `'sleeping'`: reserved, waiting locally; `'done'`: settled. */
  state: 'sending' | 'sleeping' | 'done' = 'sending';
  /** Whether it was aborted (or failed) before its grant, so that its tokens, if any, should go back. */
  unwanted = false;
  /** What it holds in Redis, while that is known and not given back. */
  reservation: Reservation | undefined = undefined;
  /** Reading (ms) of the bucket's time clock at which a sleeping call is granted. */
  deadline = 0;

  constructor(
    /** This instance's takes are numbered in the order they are sent, from 1. */
    readonly seq: number,
    count: number,
    resolve: () => void,
    extras: WaiterExtras | undefined,
    readonly reject: (reason: unknown) => void,
    readonly maxWait: number | undefined,
  ) {
    super(count, resolve, extras);
  }

  /** Whether it holds tokens in Redis that nobody will use. */
  get dead(): boolean {
    return this.state === 'done' && this.unwanted && this.reservation !== undefined;
  }
}

/** What the keyed store shares with the buckets it creates. */
export interface SharedParts {
  readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  readonly key: string;
  /** The abort listeners of every key of the store: one per signal for them all. */
  readonly signals: SignalWatch;
}

/**
 * The parts `bucketOnShared()` hands to the constructor it calls (synchronously, so nothing else can
 * observe them); undefined when the constructor is called by a user.
 */
let attaching: SharedParts | undefined;

/** @internal Creates a bucket on an existing configuration and caller (used by the keyed store). */
export function bucketOnShared(parts: SharedParts): RedisTokenBucketFilter {
  attaching = parts;
  return new RedisTokenBucketFilter(undefined as unknown as RedisTokenBucketOptions);
}

/**
 * RedisTokenBucketFilter is one token bucket shared by every process and machine through Redis (or
 * Valkey): `await bucket.getToken()` before each call to a limited resource, in any number of processes,
 * and together they stay within one limit.
 *
 * It keeps the core semantics: tokens arrive in steps of `refillTokens` every `refillInterval` ms,
 * integer arithmetic, at most `capacity` held, strict FIFO across all processes in order of arrival at
 * Redis. Each decision is one atomic Lua script (`EVALSHA`, resent with `EVAL` after `NOSCRIPT`, so a
 * Redis restart or `SCRIPT FLUSH` heals by itself) on one key, `` `${prefix}{${key}}` `` (hash-tagged for
 * Redis Cluster), which expires by itself once the bucket would be full again. The script computes
 * every step instant and count exactly as the in-process buckets do, fractional intervals included.
 *
 * A `getToken()` that must wait reserves its tokens in the same call and learns its exact grant
 * instant, then sleeps locally: one Redis call per granted call, no polling. Aborting a waiter gives
 * its tokens back, and the callers of this instance behind it move up, when nobody else has reserved
 * since it did (its reservation and this instance's later ones are the last); otherwise the callers
 * behind keep their grant instants, and the aborted tokens are simply unused.
 *
 * With `timeSource: 'client'`, each decision passes this process's clock reading; one that is not a
 * finite number within ±2^42 ms is refused (`InvalidClockReadingError`) before anything is sent, and a
 * sleeping caller whose timer wakes on one is granted once the readings are valid again. With Redis
 * time, the local clock only paces sleeps: `getToken()` refuses an invalid local reading the same way.
 *
 * Because the state is remote, this is an {@link AsyncTokenBucketFilter}: `tryGetToken()`,
 * `waitTime()` and `available()` answer with promises, and `pending` counts this instance's waiters.
 *
 * When Redis fails or does not answer within `redisTimeout` ms, the bucket fails closed by default:
 * `getToken()` rejects with `RedisUnavailableError` (its `cause` says why) and `tryGetToken()` resolves
 * false; with `failMode: 'open'` every call is granted; with a `fallback` bucket, that bucket answers.
 * `waitTime()` and `available()` reject with `RedisUnavailableError` unless there is a fallback. An
 * invalid clock reading is not an unavailable Redis: it rejects with `InvalidClockReadingError` whatever
 * `failMode` and `fallback` say.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { RedisTokenBucketFilter } from 'token-bucket-filter/redis';
 * const client = new Redis({ enableOfflineQueue: false, lazyConnect: true });
 * await client.connect(); // without an offline queue, commands fail until connected
 * const bucket = new RedisTokenBucketFilter({ client, key: 'github-api', capacity: 10, refillTokens: 10 });
 * await bucket.getToken(); // at most 10 per second across every process
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid (the message names
 * the option and the value), and `InvalidClockReadingError` with `timeSource: 'client'` when the
 * clock's reading is invalid.
 */
export class RedisTokenBucketFilter implements AsyncTokenBucketFilter {
  readonly capacity: number;
  /** The Redis key holding this bucket's state. */
  readonly redisKey: string;
  private readonly config: RedisConfig;
  private readonly caller: ScriptCaller;
  private readonly fallback: TokenBucketFilter | undefined;
  /** The origin argument of the script: this instance's creation (client time) or '' (first use). */
  private readonly origin: string;
  /** Every unsettled `getToken()` call, in call order. */
  private readonly calls = new Set<Call>();
  /**
   * Calls holding a reservation, in the order Redis made them: sleeping ones, and aborted ones whose
   * tokens may still go back. May hold calls granted already (skipped).
   */
  private sleepers: Call[] = [];
  private sleepersHead = 0;
  private headTimer: ClockTimer | undefined = undefined;
  /** Paces the timer while the clock gives invalid readings; created on the first one. */
  private clockRetry: ClockRetry | undefined = undefined;
  /** The abort listeners: the keyed store's (shared by its keys), or this bucket's, created on first use. */
  private signals: SignalWatch | undefined;
  /** The withdraw in flight, if any (one at a time: each is computed on what the one before left). */
  private withdrawal: object | undefined = undefined;
  /** The takes sent so far, and the highest of them answered (or failed). */
  private takesSent = 0;
  private takesAnswered = 0;
  /** A withdraw waits for the answer of this take (the latest sent when it was due), if set. */
  private withdrawAfter: number | undefined = undefined;
  private closed = false;
  /**
   * Whether a call of this instance has had a reply, so the key exists or existed: from then on a
   * missing key has expired once full, and is passed to the script as a full bucket.
   */
  private started = false;
  /** Told by {@link SignalWatch} when a signal aborts; kept off the public surface. */
  private readonly abortOwner: AbortOwner = {
    dropAborted: (waiter, reason) => {
      if (waiter instanceof Call) this.dropAborted(waiter, reason);
    },
    afterAborts: () => {
      this.afterAborts();
    },
  };

  /**
   * Creates a bucket named `options.key`; no Redis call is made until the first use. Options are read
   * once, as own properties only. If this instance's first call finds no key, the bucket is new: it
   * holds `initialTokens` and its refill schedule starts at this instance's creation (client time) or
   * at that call (Redis time). A key found missing later has expired, which happens only once the
   * bucket would have been full: it is a full bucket.
   */
  constructor(options: RedisTokenBucketOptions) {
    const shared = attaching;
    attaching = undefined;
    if (shared !== undefined) {
      this.config = shared.config;
      this.caller = shared.caller;
      this.redisKey = shared.key;
      this.signals = shared.signals;
      this.fallback = undefined;
      this.origin = '';
      this.started = true;
    } else {
      this.config = resolveRedisOptions(options, ['key', 'fallback']);
      const key = ownOption(options, 'key');
      const badKey = checkKey(key);
      if (badKey !== undefined) throw badKey;
      const fallback = ownOption(options, 'fallback');
      if (fallback !== undefined) {
        const valid =
          typeof fallback === 'object' &&
          fallback !== null &&
          ['getToken', 'tryGetToken', 'waitTime'].every(
            (method) => typeof (fallback as Record<string, unknown>)[method] === 'function',
          );
        if (!valid) throw new TypeError(`fallback must be a TokenBucketFilter, received ${formatValue(fallback)}`);
      }
      this.fallback = fallback as TokenBucketFilter | undefined;
      this.signals = undefined;
      this.caller = new ScriptCaller(this.config.runner, this.config.redisTimeout, this.config.breakerCooldown);
      this.redisKey = `${this.config.prefix}{${key as string}}`;
      this.origin = this.config.client ? String(readClock(this.timeClock)) : '';
    }
    this.capacity = this.config.capacity;
  }

  /** Callers of this instance waiting right now: sent to Redis, or sleeping on a reservation. */
  get pending(): number {
    return this.calls.size;
  }

  /**
   * Resolves with the tokens that could be taken right now across all processes: 0 while anyone waits.
   * Resolves 0 after `close()`. Rejects with `RedisUnavailableError` when Redis is unavailable and there
   * is no fallback (then the fallback's `available` is the answer), and with `InvalidClockReadingError`
   * on an invalid client-time reading (nothing is sent).
   */
  async available(): Promise<number> {
    if (this.closed) return 0;
    const args = this.args(OP_PEEK, 1, '', this.decisionNow());
    try {
      const reply = await this.caller.run(this.redisKey, args, 3);
      this.started = true;
      return reply[1] ?? 0;
    } catch (error) {
      if (this.fallback === undefined) throw error;
      return this.fallback.available;
    }
  }

  /**
   * Takes `count` tokens (default 1) if they are there and nobody (in any process) is queued; resolves
   * whether it did. One Redis call. Rejects with `RangeError` for a bad `count`, `BucketClosedError`
   * after `close()`, and `InvalidClockReadingError` on an invalid client-time reading (nothing is sent).
   * When Redis is unavailable: false (`failMode: 'closed'`), true (`'open'`), or the fallback's answer.
   */
  async tryGetToken(count = 1): Promise<boolean> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const args = this.args(OP_TAKE, count, '0', this.decisionNow());
    try {
      const reply = await this.caller.run(this.redisKey, args, TAKE_REPLY_LENGTH, this.late);
      this.started = true;
      return reply[0] === TAKE_GRANTED;
    } catch {
      if (this.fallback !== undefined) return this.fallback.tryGetToken(count);
      return this.config.failMode === 'open';
    }
  }

  /**
   * Resolves with the ms from now until a `getToken(count)` made now would be granted, counting every
   * reservation ahead (0: at once). Rejects like `tryGetToken()`, and with `RedisUnavailableError` when
   * Redis is unavailable and there is no fallback.
   */
  async waitTime(count = 1): Promise<number> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    const args = this.args(OP_PEEK, count, '', this.decisionNow());
    try {
      const reply = await this.caller.run(this.redisKey, args, 3);
      this.started = true;
      return reply[2] ?? 0;
    } catch (error) {
      if (this.fallback === undefined) throw error;
      return this.fallback.waitTime(count);
    }
  }

  /**
   * Waits until `count` tokens (default 1) can be taken, after every caller (of every process) that
   * reached Redis before, and takes them. Resolves at the grant; one Redis call in all.
   *
   * Rejects (never throws) with `RangeError` (bad `count` or `maxWait`), `TypeError` (bad options or
   * signal), the signal's reason (aborted before the grant; see the class for when the tokens go
   * back), `MaxWaitExceededError` (the grant would come more than `maxWait` ms from now; nothing is
   * taken), `InvalidClockReadingError` (nothing is sent), `BucketClosedError`, or
   * `RedisUnavailableError` (Redis failed or did not answer within `redisTimeout`, with
   * `failMode: 'closed'` and no fallback). Options are read once, as own properties.
   */
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
   * Closes this instance: rejects each of its waiters with `BucketClosedError` (giving their reserved
   * tokens back where that is safe, in the background), stops its timer, and makes later calls fail
   * the same way. The shared bucket in Redis is untouched. Closing twice is harmless.
   */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.headTimer?.cancel();
    this.headTimer = undefined;
    const error = new BucketClosedError();
    const held: Reservation[] = [];
    for (let i = this.sleepersHead; i < this.sleepers.length; i += 1) {
      const call = this.sleepers[i] as Call;
      if (call.reservation !== undefined && (call.state === 'sleeping' || call.dead)) held.push(call.reservation);
    }
    for (const call of this.calls) {
      this.settle(call);
      call.reject(error);
    }
    this.sleepers = [];
    this.sleepersHead = 0;
    // Last reservation first, so that each finds its own on top.
    for (const reservation of held.reverse()) this.cancel(reservation);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Resolves once every Redis call this instance started has its reply, including the background calls
   * that give back aborted reservations (or after twice `redisTimeout` at most). Await it after
   * `close()` and before closing the client if those give-backs should land. Never rejects.
   */
  idle(): Promise<void> {
    return this.caller.idle();
  }

  /** Where decisions read time (client time), or where local sleeps are measured (Redis time). */
  private get timeClock(): Clock {
    return this.config.clock ?? (this.config.client ? epochClock : globalClock());
  }

  /** The script's `now`: this process's reading with client time, '' (Redis TIME) otherwise. Throws on an invalid reading. */
  private decisionNow(): string {
    return this.config.client ? String(readClock(this.timeClock)) : '';
  }

  /** The script's arguments for `op`, with `now` (see {@link decisionNow}) and the origin filled in. */
  private args(op: number, count: number, maxWait: string, now: string): string[] {
    const initial = this.started ? this.config.scriptArgs[0] : this.config.initialTokens;
    return [String(op), ...this.config.scriptArgs, initial, now, this.origin, String(count), maxWait];
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
        : new WaiterExtras(reject, signal, now, maxWait ?? Number.POSITIVE_INFINITY, this.abortOwner);
    const call = new Call(this.takesSent + 1, count, resolve, extras, reject, maxWait);
    // Watched before anything is sent: a signal whose addEventListener throws reserves nothing.
    if (signal !== undefined) (this.signals ??= new SignalWatch()).watch(call, signal);
    this.takesSent = call.seq; // counted only once it is sure to be sent
    this.calls.add(call);
    const maxWaitArg = maxWait === undefined || maxWait === Number.POSITIVE_INFINITY ? '' : String(maxWait);
    const args = this.args(OP_TAKE, count, maxWaitArg, this.config.client ? String(now) : '');
    const onReply = (reply: number[]): void => {
      this.answered(call, reply);
    };
    this.caller.call(
      this.redisKey,
      args,
      TAKE_REPLY_LENGTH,
      onReply,
      (error) => {
        this.unavailable(call, error);
      },
      onReply, // a reply after our timeout: the call failed meanwhile, and what it took goes back
    );
    return promise;
  }

  private answered(call: Call, reply: number[]): void {
    this.started = true;
    this.settleTake(call, reply);
    this.takeAnswered(call.seq);
  }

  /** What the reply of `call`'s take means for it. */
  private settleTake(call: Call, reply: number[]): void {
    const [status, wait = 0, , , , , grantAt = 0] = reply;
    if (call.state !== 'sending') {
      // Aborted, failed or closed while the script ran: give back what it took, when that is safe.
      this.unwantedReply(call, reply);
      return;
    }
    if (status === TAKE_GRANTED) {
      this.settle(call);
      call.resolve();
    } else if (status === TAKE_TOO_LATE) {
      this.settle(call);
      call.reject(new MaxWaitExceededError(wait, call.maxWait ?? 0));
    } else if (status === TAKE_RESERVED) {
      call.reservation = reservationAt(reply, 0);
      let deadline: number;
      try {
        deadline = this.deadline(wait, grantAt);
      } catch (invalid) {
        // Redis time, and the local clock cannot say when to wake: refuse, and give the tokens back.
        this.settle(call);
        call.reject(invalid);
        this.unwantedReply(call, reply);
        return;
      }
      call.state = 'sleeping';
      // Keep local grants in reply order even if the replies' delays differed.
      call.deadline = Math.max(deadline, this.lastSleeperDeadline());
      this.sleepers.push(call);
      if (this.headTimer === undefined) this.drain();
    } else {
      this.settle(call);
      call.reject(
        new RedisUnavailableError(new TypeError(`unexpected status ${String(status)} from the bucket script`)),
      );
    }
  }

  /**
   * The local clock reading at which a take granted `grantAt` (the decision's time), `wait` ms after
   * the decision, is due: `grantAt` itself with client time, the local reading now plus `wait` with
   * Redis time. Throws `InvalidClockReadingError` when that local reading is invalid.
   */
  private deadline(wait: number, grantAt: number): number {
    return this.config.client ? grantAt : readClock(this.timeClock) + wait;
  }

  /**
   * The reply of a call that no longer waits for it (aborted, failed or closed meanwhile): its tokens
   * go back, through the next withdraw (which also moves this instance's callers behind it up).
   */
  private unwantedReply(call: Call, reply: readonly number[]): void {
    const status = reply[0];
    if (status !== TAKE_GRANTED && status !== TAKE_RESERVED) return;
    const reservation = reservationAt(reply, 0);
    if (this.closed) {
      this.cancel(reservation);
      return;
    }
    call.unwanted = true;
    call.reservation = reservation;
    this.sleepers.push(call);
    this.withdrawAborted();
  }

  private unavailable(call: Call, error: unknown): void {
    this.takeAnswered(call.seq); // or failed: its script may run later, and then a withdraw just fails
    if (call.state !== 'sending') return;
    this.settle(call);
    call.unwanted = true;
    if (this.fallback !== undefined) {
      const options: GetTokenOptions = {};
      if (call.extras?.signal !== undefined) options.signal = call.extras.signal;
      if (call.maxWait !== undefined) options.maxWait = call.maxWait;
      this.fallback.getToken(call.count, options).then(call.resolve, call.reject);
    } else if (this.config.failMode === 'open') {
      call.resolve();
    } else {
      call.reject(error);
    }
  }

  /**
   * Notes that the take numbered `seq` has its answer: a withdraw that waited for it can now see every
   * reservation this instance made before it (none of them can land on top of it any more).
   */
  private takeAnswered(seq: number): void {
    if (seq > this.takesAnswered) this.takesAnswered = seq;
    const after = this.withdrawAfter;
    if (after === undefined || this.takesAnswered < after) return;
    this.withdrawAfter = undefined;
    if (this.closed) return;
    this.withdrawAborted();
    this.drain();
  }

  /** A `tryGetToken()` reply that came after our timeout: the caller was already answered, so give back what it took. */
  private readonly late = (reply: number[]): void => {
    const status = reply[0];
    if (status === TAKE_GRANTED || status === TAKE_RESERVED) this.cancel(reservationAt(reply, 0));
  };

  /** Gives `reservation` back in the background if it is still the last one (nothing written otherwise). */
  private cancel(reservation: Reservation): void {
    const now = this.backgroundNow();
    // On an invalid reading nothing is sent, and the tokens stay taken: that never grants too much.
    if (now === undefined) return;
    this.caller.runInBackground(this.redisKey, [
      ...this.args(OP_WITHDRAW, 0, '', now),
      String(reservation.postTokens),
      String(reservation.postStep),
      String(reservation.preTokens),
      String(reservation.preStep),
    ]);
  }

  /** The script's `now` for a background call, or undefined on an invalid client-time reading. */
  private backgroundNow(): string | undefined {
    if (!this.config.client) return '';
    const now = tryReadClock(this.timeClock);
    return now === undefined ? undefined : String(now);
  }

  /** Marks `call` settled and forgets its abort listener; the caller settles its promise. */
  private settle(call: Call): void {
    call.state = 'done';
    this.calls.delete(call);
    if (call.extras !== undefined) this.signals?.forget(call);
  }

  /** A caller's signal aborted (one of possibly many of that signal, all before {@link afterAborts}). */
  private dropAborted(call: Call, reason: unknown): void {
    if (call.state === 'done') return;
    this.settle(call);
    call.unwanted = true;
    call.reject(reason); // untouched, whatever it is
    // One still sending has no reservation yet: its reply gives it back (unwantedReply).
  }

  /** After an abort: give the aborted callers' tokens back where that is safe, and re-arm for the head. */
  private afterAborts(): void {
    if (this.closed) return;
    this.withdrawAborted();
    this.drain();
  }

  /**
   * Gives back the tokens of aborted reservations, in one script call, where that cannot let anyone
   * exceed the schedule: only this instance's reservations that are the last ones in Redis, each right
   * on top of the one before, can go back; the live callers among them are re-reserved in the same
   * call, in order, from where the first aborted one stood (they move up). The script checks that the
   * tail still is where the last of them left it, so a reservation of anyone else since changes
   * nothing. Aborted reservations below someone else's keep their tokens: their steps pass unused.
   */
  private withdrawAborted(): void {
    if (this.withdrawal !== undefined || this.closed) return;
    if (this.takesAnswered < this.takesSent) {
      // A take still in flight may have reserved on top already: wait for its reply, so that its
      // reservation, if any, is known and re-reserved too (otherwise the withdraw would just fail).
      this.withdrawAfter = this.takesSent;
      return;
    }
    const sleepers = this.sleepers;
    let first = sleepers.length - 1;
    if (first < this.sleepersHead) return; // nobody holds a reservation
    // The longest run of reservations, each on top of the one before, ending with this instance's latest.
    while (first > this.sleepersHead && onTop(sleepers[first - 1]?.reservation, sleepers[first]?.reservation)) {
      first -= 1;
    }
    // Aborted ones below that run hold tokens that others reserved on top of: they stay taken.
    for (let i = this.sleepersHead; i < first; i += 1) {
      const call = sleepers[i] as Call;
      if (call.dead) call.reservation = undefined;
    }
    while (first < sleepers.length && !(sleepers[first] as Call).dead) first += 1;
    if (first >= sleepers.length) return;
    const now = this.backgroundNow();
    if (now === undefined) return; // an invalid reading: the next abort tries again
    const chain = sleepers.slice(first);
    const withdrawn = chain.filter((call) => call.dead);
    const kept = chain.filter((call) => call.state === 'sleeping');
    const top = (chain[chain.length - 1] as Call).reservation as Reservation;
    const bottom = (chain[0] as Call).reservation as Reservation;
    const request = {};
    this.withdrawal = request;
    const done = (): void => {
      if (this.withdrawal === request) this.withdrawal = undefined;
    };
    const onReply = (reply: number[]): void => {
      done();
      this.withdrawn(withdrawn, kept, reply);
    };
    this.caller.call(
      this.redisKey,
      [
        ...this.args(OP_WITHDRAW, 0, '', now),
        String(top.postTokens),
        String(top.postStep),
        String(bottom.preTokens),
        String(bottom.preStep),
        ...kept.map((call) => String(call.count)),
      ],
      1, // {0} when refused; withdrawn() checks the length of a success
      onReply,
      done, // failed or timed out: nothing is known to have changed
      onReply, // ran after all, after our timeout
    );
  }

  /**
   * The reply of a withdraw of `withdrawn`, which re-reserved `kept` (in order): on success the
   * withdrawn hold nothing any more, and each kept call holds its new reservation and, if still
   * sleeping, wakes at its new (earlier) instant. Kept calls aborted meanwhile hold their new
   * reservation as dead ones, for the next withdraw.
   */
  private withdrawn(withdrawn: readonly Call[], kept: readonly Call[], reply: readonly number[]): void {
    if (reply[0] !== 1 || reply.length < 1 + TAKE_REPLY_LENGTH * kept.length) return;
    for (const call of withdrawn) call.reservation = undefined;
    kept.forEach((call, index) => {
      const offset = 1 + TAKE_REPLY_LENGTH * index;
      call.reservation = reservationAt(reply, offset);
      if (call.state !== 'sleeping') return;
      try {
        call.deadline = this.deadline(reply[offset + 1] ?? 0, reply[offset + 6] ?? 0);
      } catch {
        // An invalid local reading: keep the old instant, later than the new one (never early).
      }
    });
    if (this.closed) {
      // close() gave back what the calls held before this withdraw; give back what they hold now.
      for (const call of [...kept].reverse()) if (call.reservation !== undefined) this.cancel(call.reservation);
      return;
    }
    // Keep local grants in order: nobody wakes before a call ahead of it.
    let last = Number.NEGATIVE_INFINITY;
    for (let i = this.sleepersHead; i < this.sleepers.length; i += 1) {
      const call = this.sleepers[i] as Call;
      if (call.state !== 'sleeping') continue;
      call.deadline = Math.max(call.deadline, last);
      last = call.deadline;
    }
    this.withdrawAborted(); // the calls aborted while this one was in flight
    this.drain();
  }

  /** The grant instant of the last call still sleeping (aborted ones no longer hold anyone back). */
  private lastSleeperDeadline(): number {
    for (let i = this.sleepers.length - 1; i >= this.sleepersHead; i -= 1) {
      const call = this.sleepers[i] as Call;
      if (call.state === 'sleeping') return call.deadline;
    }
    return Number.NEGATIVE_INFINITY;
  }

  /**
   * Grants, in order, every sleeper whose instant has come at one clock reading, then sets the timer
   * for the next one. On an invalid reading it grants nothing and looks again after a
   * {@link ClockRetry} delay.
   */
  private drain(): void {
    this.headTimer?.cancel();
    this.headTimer = undefined;
    if (this.closed) return;
    const now = tryReadClock(this.timeClock);
    if (now !== undefined) this.clockRetry?.reset();
    const sleepers = this.sleepers;
    for (; this.sleepersHead < sleepers.length; this.sleepersHead += 1) {
      const call = sleepers[this.sleepersHead] as Call;
      if (call.state !== 'sleeping') continue;
      if (now === undefined || call.deadline > now) break;
      this.settle(call);
      call.resolve();
    }
    if (this.sleepersHead >= sleepers.length) {
      this.sleepers = [];
      this.sleepersHead = 0;
      return;
    }
    if (this.sleepersHead > 1024 && this.sleepersHead * 2 > sleepers.length) {
      this.sleepers = sleepers.slice(this.sleepersHead);
      this.sleepersHead = 0;
    }
    const head = this.sleepers[this.sleepersHead] as Call;
    const delay = now === undefined ? (this.clockRetry ??= new ClockRetry()).next() : head.deadline - now;
    this.headTimer = ClockTimer.timeout(this.config.clock ?? globalClock(), this.wake, delay);
  }

  private readonly wake = (): void => {
    this.headTimer = undefined;
    this.drain();
  };
}
