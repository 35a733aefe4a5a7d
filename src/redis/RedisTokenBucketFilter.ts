import { ClockTimer, globalClock, type Clock } from '../clock.js';
import { BucketClosedError, MaxWaitExceededError } from '../errors.js';
import { checkCount, describe, readGetTokenOptions, type GetTokenRequest } from '../options.js';
import type { GetTokenOptions, TokenBucketFilter } from '../TokenBucketFilter.js';
import type { AsyncTokenBucketFilter } from './AsyncTokenBucketFilter.js';
import { RedisUnavailableError } from './errors.js';
import { checkKey, resolveRedisOptions, toMicros, type RedisConfig, type RedisTokenBucketOptions } from './options.js';
import { ScriptCaller } from './ScriptCaller.js';
import { OP_CANCEL, OP_PEEK, OP_TAKE, TAKE_GRANTED, TAKE_RESERVED, TAKE_TOO_LATE } from './script.js';

/** Epoch milliseconds, monotonic within the process: the default time of `timeSource: 'client'`. */
const epochClock = {
  performance: { now: (): number => globalThis.performance.timeOrigin + globalThis.performance.now() },
};

/** Where a reservation moved the shared tail, so that it can be undone while it is the last one. */
interface Reservation {
  readonly preTokens: number;
  readonly preStep: number;
  readonly postTokens: number;
  readonly postStep: number;
}

/** One `getToken()` call of this instance, from the call until it settles. */
class Call {
  /** `'sending'`: the script has not answered; `'sleeping'`: reserved, waiting locally; `'done'`. */
  state: 'sending' | 'sleeping' | 'done' = 'sending';
  onAbort: (() => void) | undefined = undefined;
  reservation: Reservation | undefined = undefined;
  /** Local clock reading, in µs, at which a sleeping call is granted. */
  deadlineUs = 0;

  constructor(
    readonly count: number,
    readonly signal: AbortSignal | undefined,
    readonly maxWait: number | undefined,
    readonly resolve: () => void,
    readonly reject: (reason: unknown) => void,
  ) {}
}

/** What the keyed store shares with the buckets it creates. */
export interface SharedParts {
  readonly config: RedisConfig;
  readonly caller: ScriptCaller;
  readonly key: string;
}

const SHARED = Symbol('shared');

/** @internal Creates a bucket on an existing configuration and caller (used by the keyed store). */
export function bucketOnShared(parts: SharedParts): RedisTokenBucketFilter {
  return new RedisTokenBucketFilter({ [SHARED]: parts } as unknown as RedisTokenBucketOptions);
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
 * Redis Cluster), which expires by itself once the bucket would be full again.
 *
 * A `getToken()` that must wait reserves its tokens in the same call and learns its exact grant
 * instant, then sleeps locally: one Redis call per granted call, no polling. Aborting a waiter gives
 * its tokens back only when its reservation is still the last one (otherwise the callers behind keep
 * their grant instants, and the aborted tokens are simply unused).
 *
 * Because the state is remote, this is an {@link AsyncTokenBucketFilter}: `tryGetToken()`,
 * `waitTime()` and `available()` answer with promises, and `pending` counts this instance's waiters.
 *
 * When Redis fails or does not answer within `redisTimeout` ms, the bucket fails closed by default:
 * `getToken()` rejects with `RedisUnavailableError` (its `cause` says why) and `tryGetToken()` resolves
 * false; with `failMode: 'open'` every call is granted; with a `fallback` bucket, that bucket answers.
 * `waitTime()` and `available()` reject with `RedisUnavailableError` unless there is a fallback.
 *
 * @example
 * import { Redis } from 'ioredis';
 * import { RedisTokenBucketFilter } from 'token-bucket-filter/redis';
 * const client = new Redis({ enableOfflineQueue: false, lazyConnect: true });
 * await client.connect(); // without an offline queue, commands fail until connected
 * const bucket = new RedisTokenBucketFilter({ client, key: 'github-api', capacity: 10, refillTokens: 10 });
 * await bucket.getToken(); // at most 10 per second across every process
 *
 * @throws TypeError or RangeError from the constructor when an option is invalid; the message names
 * the option and the value.
 */
export class RedisTokenBucketFilter implements AsyncTokenBucketFilter {
  readonly capacity: number;
  /** The Redis key holding this bucket's state. */
  readonly redisKey: string;
  private readonly config: RedisConfig;
  private readonly caller: ScriptCaller;
  private readonly fallback: TokenBucketFilter | undefined;
  /** The origin argument of the script: this instance's creation (client time) or -1 (first use). */
  private readonly origin: string;
  /** Every unsettled `getToken()` call, in call order. */
  private readonly calls = new Set<Call>();
  /** Calls sleeping on a reservation, in grant order (may hold calls already settled; skipped). */
  private sleepers: Call[] = [];
  private sleepersHead = 0;
  private headTimer: ClockTimer | undefined = undefined;
  private closed = false;
  /**
   * Whether a call of this instance has had a reply, so the key exists or existed: from then on a
   * missing key has expired once full, and is passed to the script as a full bucket.
   */
  private started = false;

  /**
   * Creates a bucket named `options.key`; no Redis call is made until the first use. If this instance's
   * first call finds no key, the bucket is new: it holds `initialTokens` and its refill schedule starts
   * at this instance's creation (client time) or at that call (Redis time). A key found missing later
   * has expired, which happens only once the bucket would have been full: it is a full bucket.
   */
  constructor(options: RedisTokenBucketOptions) {
    const shared = (options as unknown as { [SHARED]?: SharedParts })[SHARED];
    if (shared !== undefined) {
      this.config = shared.config;
      this.caller = shared.caller;
      this.redisKey = shared.key;
      this.fallback = undefined;
      this.origin = '-1';
      this.started = true;
    } else {
      this.config = resolveRedisOptions(options, ['key', 'fallback']);
      const badKey = checkKey(options.key);
      if (badKey !== undefined) throw badKey;
      const fallback: unknown = options.fallback;
      if (fallback !== undefined) {
        const valid =
          typeof fallback === 'object' &&
          fallback !== null &&
          ['getToken', 'tryGetToken', 'waitTime'].every(
            (method) => typeof (fallback as Record<string, unknown>)[method] === 'function',
          );
        if (!valid) throw new TypeError(`fallback must be a TokenBucketFilter, received ${describe(fallback)}`);
      }
      this.fallback = options.fallback;
      this.caller = new ScriptCaller(this.config.runner, this.config.redisTimeout, this.config.breakerCooldown);
      this.redisKey = `${this.config.prefix}{${options.key}}`;
      this.origin = this.config.client ? String(this.nowUs()) : '-1';
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
   * is no fallback (then the fallback's `available` is the answer).
   */
  async available(): Promise<number> {
    if (this.closed) return 0;
    try {
      const reply = await this.caller.run(this.redisKey, this.args(OP_PEEK, 1, -1), 3);
      this.started = true;
      return reply[1] ?? 0;
    } catch (error) {
      if (this.fallback === undefined) throw error;
      return this.fallback.available;
    }
  }

  /**
   * Takes `count` tokens (default 1) if they are there and nobody (in any process) is queued; resolves
   * whether it did. One Redis call. Rejects with `RangeError` for a bad `count` and `BucketClosedError`
   * after `close()`. When Redis is unavailable: false (`failMode: 'closed'`), true (`'open'`), or the
   * fallback's answer.
   */
  async tryGetToken(count = 1): Promise<boolean> {
    if (this.closed) throw new BucketClosedError();
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) throw invalid;
    try {
      const reply = await this.caller.run(this.redisKey, this.args(OP_TAKE, count, 0), 7, this.late);
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
    try {
      const reply = await this.caller.run(this.redisKey, this.args(OP_PEEK, count, -1), 3);
      this.started = true;
      return (reply[2] ?? 0) / 1000;
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
   * signal), `signal.reason` (aborted before the grant; the tokens go back only if this was the last
   * reservation), `MaxWaitExceededError` (the grant would come more than `maxWait` ms from now; nothing
   * is taken), `BucketClosedError`, or `RedisUnavailableError` (Redis failed or did not answer within
   * `redisTimeout`, with `failMode: 'closed'` and no fallback).
   */
  getToken(count = 1, options?: GetTokenOptions): Promise<void> {
    if (this.closed) return Promise.reject(new BucketClosedError());
    const invalid = checkCount(count, this.capacity);
    if (invalid !== undefined) return Promise.reject(invalid);
    let request: GetTokenRequest;
    try {
      request = readGetTokenOptions(options);
    } catch (refusal) {
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- an abort reason is passed on untouched, whatever it is
      return Promise.reject(refusal);
    }
    const { signal, maxWait } = request;
    return new Promise<void>((resolve, reject) => {
      const call = new Call(count, signal, maxWait, resolve, reject);
      this.calls.add(call);
      if (signal !== undefined) {
        call.onAbort = () => {
          this.abort(call);
        };
        signal.addEventListener('abort', call.onAbort, { once: true });
      }
      const maxWaitUs = maxWait === undefined || maxWait * 1000 >= Number.MAX_SAFE_INTEGER ? -1 : toMicros(maxWait);
      const args = this.args(OP_TAKE, count, maxWaitUs);
      const sentUs = Number(args[5]);
      this.caller.call(
        this.redisKey,
        args,
        7,
        (reply) => {
          this.answered(call, reply, sentUs);
        },
        (error) => {
          this.unavailable(call, error);
        },
        this.late,
      );
    });
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
    const reserved: Reservation[] = [];
    for (const call of this.calls) {
      if (call.state === 'sleeping' && call.reservation !== undefined) reserved.push(call.reservation);
      this.settle(call);
      call.reject(error);
    }
    this.sleepers = [];
    this.sleepersHead = 0;
    // Last reservation first, so that each cancel finds its own reservation on top.
    for (const reservation of reserved.reverse()) this.cancel(reservation);
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

  /** The script's arguments for `op` (now and origin filled in). */
  private args(op: number, count: number, maxWaitUs: number): string[] {
    const now = this.config.client ? String(this.nowUs()) : '-1';
    const initial = this.started ? this.config.scriptArgs[0] : this.config.initialTokens;
    return [String(op), ...this.config.scriptArgs, initial, now, this.origin, String(count), String(maxWaitUs)];
  }

  private get clock(): Clock {
    return this.config.clock ?? globalClock();
  }

  /** The time local sleeps are measured in, µs: the decisions' time in client mode, else the clock's. */
  private localUs(): number {
    return this.config.client ? this.nowUs() : toMicros(this.clock.performance.now());
  }

  /** This process's time in µs: the injected clock's, or epoch time in client mode. */
  private nowUs(): number {
    const clock = this.config.clock ?? (this.config.client ? epochClock : globalClock());
    return toMicros(clock.performance.now());
  }

  private answered(call: Call, reply: number[], sentUs: number): void {
    this.started = true;
    const status = reply[0];
    if (call.state !== 'sending') {
      // Aborted or closed while the script ran: give back what it took, if still the last.
      this.late(reply);
      return;
    }
    const waitUs = reply[1] ?? 0;
    if (status === TAKE_GRANTED) {
      this.settle(call);
      call.resolve();
    } else if (status === TAKE_TOO_LATE) {
      this.settle(call);
      call.reject(new MaxWaitExceededError(waitUs / 1000, call.maxWait ?? 0));
    } else if (status === TAKE_RESERVED) {
      call.state = 'sleeping';
      const [, , preTokens = 0, preStep = 0, postTokens = 0, postStep = 0] = reply;
      call.reservation = { preTokens, preStep, postTokens, postStep };
      const startUs = this.config.client ? sentUs : this.localUs();
      // Keep local grants in reply order even if the replies' delays differed.
      call.deadlineUs = Math.max(startUs + waitUs, this.lastSleeperDeadline());
      this.sleepers.push(call);
      if (this.headTimer === undefined) this.armHead();
    } else {
      this.settle(call);
      call.reject(new RedisUnavailableError(new TypeError(`unexpected status ${status} from the bucket script`)));
    }
  }

  private unavailable(call: Call, error: unknown): void {
    if (call.state !== 'sending') return;
    this.settle(call);
    if (this.fallback !== undefined) {
      const options: GetTokenOptions = {};
      if (call.signal !== undefined) options.signal = call.signal;
      if (call.maxWait !== undefined) options.maxWait = call.maxWait;
      this.fallback.getToken(call.count, options).then(call.resolve, call.reject);
    } else if (this.config.failMode === 'open') {
      call.resolve();
    } else {
      call.reject(error);
    }
  }

  /** A reply that came after our timeout: the caller was already failed, so give back what it took. */
  private readonly late = (reply: number[]): void => {
    const [status = -1, , preTokens = 0, preStep = 0, postTokens = 0, postStep = 0] = reply;
    if (status === TAKE_GRANTED || status === TAKE_RESERVED) this.cancel({ preTokens, preStep, postTokens, postStep });
  };

  private cancel(reservation: Reservation): void {
    const args = this.args(OP_CANCEL, 0, 0);
    args.push(
      String(reservation.postTokens),
      String(reservation.postStep),
      String(reservation.preTokens),
      String(reservation.preStep),
    );
    this.caller.runInBackground(this.redisKey, args);
  }

  /** Removes `call` from the live calls and its abort listener; the caller settles its promise. */
  private settle(call: Call): void {
    call.state = 'done';
    this.calls.delete(call);
    if (call.onAbort !== undefined) {
      call.signal?.removeEventListener('abort', call.onAbort);
      call.onAbort = undefined;
    }
  }

  private abort(call: Call): void {
    if (call.state === 'done') return;
    const wasSleeping = call.state === 'sleeping';
    const wasHead = wasSleeping && this.sleepers[this.sleepersHead] === call;
    this.settle(call);
    call.reject(call.signal?.reason);
    if (wasSleeping && call.reservation !== undefined) this.cancel(call.reservation);
    if (wasHead) {
      this.headTimer?.cancel();
      this.headTimer = undefined;
      this.armHead();
    }
  }

  /** The grant instant of the last call still sleeping (aborted ones no longer hold anyone back). */
  private lastSleeperDeadline(): number {
    for (let i = this.sleepers.length - 1; i >= this.sleepersHead; i -= 1) {
      const call = this.sleepers[i] as Call;
      if (call.state === 'sleeping') return call.deadlineUs;
    }
    return Number.NEGATIVE_INFINITY;
  }

  /** Drops settled calls from the head of the sleepers and sets the timer for the live head, if any. */
  private armHead(): void {
    while (this.sleepersHead < this.sleepers.length && this.sleepers[this.sleepersHead]?.state !== 'sleeping') {
      this.sleepersHead += 1;
    }
    if (this.sleepersHead >= this.sleepers.length) {
      this.sleepers = [];
      this.sleepersHead = 0;
      return;
    }
    if (this.sleepersHead > 1024 && this.sleepersHead * 2 > this.sleepers.length) {
      this.sleepers = this.sleepers.slice(this.sleepersHead);
      this.sleepersHead = 0;
    }
    const head = this.sleepers[this.sleepersHead] as Call;
    const delayMs = (head.deadlineUs - this.localUs()) / 1000;
    if (delayMs <= 0) this.wake();
    else this.headTimer = ClockTimer.timeout(this.clock, this.wake, delayMs);
  }

  /** Grants every sleeper whose instant has come, in order, then waits for the next one. */
  private readonly wake = (): void => {
    this.headTimer = undefined;
    const nowUs = this.localUs();
    while (this.sleepersHead < this.sleepers.length) {
      const call = this.sleepers[this.sleepersHead] as Call;
      if (call.state === 'sleeping') {
        if (call.deadlineUs > nowUs) break;
        this.settle(call);
        call.resolve();
      }
      this.sleepersHead += 1;
    }
    if (!this.closed) this.armHead();
  };
}
