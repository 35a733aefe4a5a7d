/**
 * A model of the README's semantics, written from the README alone (nothing from `src/core/`), in
 * the plainest terms: exact instants ({@link Exact}), bigint token counts, one limit's position as
 * (tokens, steps applied), and a FIFO queue re-planned from scratch whenever it is needed.
 *
 * - A limit gains `refillTokens` at each instant `origin + k × refillInterval`, k = 1, 2, …, never
 *   above `capacity`; `origin` is the bucket's creation, or the last `reconfigure()`.
 * - A caller asking for `count` is granted at the first instant at which every limit holds `count`
 *   tokens, after every caller queued before it has been granted; the grant takes `count` from every
 *   limit at that instant.
 * - Every call at clock reading `t` first brings the bucket up to `t`: everyone whose instant is at
 *   or before `t` has been granted, each at its own instant.
 */
import { ceilDiv, exact, floorDiv, max, tolerance, toNumber, type Exact } from './exact.js';

/** One limit as given to a bucket (defaults: refillTokens 1, refillInterval 1000, initialTokens capacity). */
export interface LimitConfig {
  readonly capacity: number;
  readonly refillTokens?: number | undefined;
  readonly refillInterval?: number | undefined;
  readonly initialTokens?: number | undefined;
}

/** A bucket's configuration: one limit or several. */
export type BucketConfig = LimitConfig | { readonly limits: readonly LimitConfig[] };

/** The limits of a configuration, in order. */
export function limitsOf(config: BucketConfig): readonly LimitConfig[] {
  return 'limits' in config ? config.limits : [config];
}

/** Why the model says a `getToken()` is refused. */
export type Refusal =
  | { readonly kind: 'RangeError' }
  | { readonly kind: 'TypeError' }
  | { readonly kind: 'BucketClosedError' }
  | { readonly kind: 'MaxWaitExceededError'; readonly waitTime: Exact; readonly maxWait: number }
  /** Rejected with exactly this value: an abort reason, or what a signal's addEventListener threw. */
  | { readonly kind: 'value'; readonly value: unknown }
  /** A signal that was aborted with no reason: a DOMException named AbortError. */
  | { readonly kind: 'AbortError' }
  /** Left the queue because `reconfigure()` made its count exceed the capacity. */
  | { readonly kind: 'overCapacity' }
  | { readonly kind: 'InvalidClockReadingError'; readonly reading: number };

/** How the model says a call's promise settles. */
export type Settlement =
  | { readonly id: number; readonly granted: true; readonly at: Exact }
  | { readonly id: number; readonly granted: false; readonly refusal: Refusal };

/** The counts of `stats()`, with `pending`. */
export interface ModelStats {
  tokensGranted: number;
  granted: number;
  denied: number;
  maxWaitExceeded: number;
  aborted: number;
  closed: number;
  overCapacity: number;
  pending: number;
}

/** One limit's position on its schedule: `tokens` held once `step` steps have been added. */
class Limit {
  constructor(
    readonly capacity: bigint,
    readonly refillTokens: bigint,
    readonly interval: Exact,
    readonly origin: Exact,
    public step: bigint,
    public tokens: bigint,
  ) {}

  /** The steps that have happened by instant `t`: the largest k ≥ 0 with origin + k × interval ≤ t. */
  stepsBy(t: Exact): bigint {
    return t < this.origin ? 0n : floorDiv(t - this.origin, this.interval);
  }

  /** Adds the refills of every step up to instant `t`, capped at the capacity. */
  moveTo(t: Exact): void {
    const step = this.stepsBy(t);
    if (step <= this.step) return;
    const tokens = this.tokens + this.refillTokens * (step - this.step);
    this.tokens = tokens < this.capacity ? tokens : this.capacity;
    this.step = step;
  }

  /** The instant at which this limit will hold `count` tokens, or undefined if it holds them now. */
  readyAt(count: bigint): Exact | undefined {
    if (this.tokens >= count) return undefined;
    const steps = this.step + ceilDiv(count - this.tokens, this.refillTokens);
    return this.origin + steps * this.interval;
  }

  clone(): Limit {
    return new Limit(this.capacity, this.refillTokens, this.interval, this.origin, this.step, this.tokens);
  }
}

/** Where every limit of one bucket stands, at instant `at` or later. */
class Position {
  constructor(
    readonly limits: Limit[],
    public at: Exact,
  ) {}

  get capacity(): bigint {
    return this.limits.reduce(
      (least, limit) => (limit.capacity < least ? limit.capacity : least),
      this.limits[0]?.capacity ?? 0n,
    );
  }

  get tokens(): bigint {
    return this.limits.reduce(
      (least, limit) => (limit.tokens < least ? limit.tokens : least),
      this.limits[0]?.tokens ?? 0n,
    );
  }

  /** The instant at which the next caller in line, asking for `count`, is granted. */
  grantAt(count: bigint): Exact {
    let at = this.at;
    for (const limit of this.limits) {
      const ready = limit.readyAt(count);
      if (ready !== undefined) at = max(at, ready);
    }
    return at;
  }

  /** Grants `count` to the next caller in line and returns the instant of the grant. */
  grant(count: bigint): Exact {
    const at = this.grantAt(count);
    for (const limit of this.limits) {
      limit.moveTo(at);
      limit.tokens -= count;
    }
    this.at = at;
    return at;
  }

  moveTo(t: Exact): void {
    for (const limit of this.limits) limit.moveTo(t);
    this.at = max(this.at, t);
  }

  clone(): Position {
    return new Position(
      this.limits.map((limit) => limit.clone()),
      this.at,
    );
  }
}

/** A caller in the model's queue. */
export interface ModelWaiter {
  readonly id: number;
  readonly count: bigint;
  readonly calledAt: Exact;
  readonly maxWait: number | undefined;
  /** What aborts it (an AbortController), if anything. */
  readonly abortGroup: object | undefined;
}

/** A `getToken()` call as the model sees it, validated by the caller of {@link Model.getToken}. */
export interface ModelCall {
  readonly id: number;
  readonly key: number;
  readonly count: number;
  readonly maxWait: number | undefined;
  /** The signal is already aborted: reject with this (a reason, or an AbortError). */
  readonly aborted?: Refusal | undefined;
  /** The signal's addEventListener throws this (only called when the caller must queue). */
  readonly addListenerThrows?: { readonly value: unknown } | undefined;
  /** What aborts the waiter later. */
  readonly abortGroup?: object | undefined;
  /**
   * The library's `waitTime(count)` just before the call, to settle a `maxWait` that equals the exact
   * wait to within floating-point rounding (see {@link tolerance}).
   */
  readonly libraryWaitTime?: number | undefined;
}

/** One key's bucket (a whole bucket, for the single kinds). */
class KeyModel {
  live: Position;
  queue: ModelWaiter[] = [];

  constructor(limits: Limit[], at: Exact) {
    this.live = new Position(limits, at);
  }

  /** The instant of each queued caller, in order. */
  plan(): { waiter: ModelWaiter; at: Exact }[] {
    const projection = this.live.clone();
    return this.queue.map((waiter) => ({ waiter, at: projection.grant(waiter.count) }));
  }

  /** Where the limits stand once everyone queued has been granted. */
  tail(): Position {
    const projection = this.live.clone();
    for (const waiter of this.queue) projection.grant(waiter.count);
    return projection;
  }
}

function limitFrom(config: LimitConfig, origin: Exact, tokens: bigint): Limit {
  return new Limit(
    BigInt(config.capacity),
    BigInt(config.refillTokens ?? 1),
    exact(config.refillInterval ?? 1000),
    origin,
    0n,
    tokens,
  );
}

/** Whether `value` is a valid count of tokens (a positive safe integer). */
function positiveSafeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value > 0;
}

/**
 * Whether `limits` are valid options for `reconfigure()` (new semantics included: refillInterval
 * within 0.001..2^42 ms and at most 2^20 tokens per ms).
 */
export function validLimits(limits: readonly LimitConfig[]): boolean {
  return (
    limits.length > 0 &&
    limits.every((limit) => {
      const refillTokens = limit.refillTokens ?? 1;
      const interval = limit.refillInterval ?? 1000;
      return (
        positiveSafeInteger(limit.capacity) &&
        positiveSafeInteger(refillTokens) &&
        typeof interval === 'number' &&
        interval >= 0.001 &&
        interval <= 2 ** 42 &&
        refillTokens / interval <= 2 ** 20
      );
    })
  );
}

/**
 * The model of one bucket (or of a keyed bucket: one {@link KeyModel} per key, sharing the counts).
 * Every method takes the clock reading of the call, as an {@link Exact}, and reports how promises
 * settle through `settle`.
 */
export class Model {
  private readonly keys: KeyModel[];
  private closed = false;
  readonly counts: Omit<ModelStats, 'pending'> = {
    tokensGranted: 0,
    granted: 0,
    denied: 0,
    maxWaitExceeded: 0,
    aborted: 0,
    closed: 0,
    overCapacity: 0,
  };
  /** The instant of every grant so far, by call id. */
  readonly grantedAt = new Map<number, Exact>();
  /** The ids granted so far per key, in the order of their grants. */
  readonly grantOrder: number[][];

  constructor(
    config: BucketConfig,
    origin: Exact,
    keyCount: number,
    private readonly settle: (settlement: Settlement) => void,
  ) {
    const limits = limitsOf(config);
    this.keys = Array.from(
      { length: keyCount },
      () =>
        new KeyModel(
          limits.map((limit) => limitFrom(limit, origin, BigInt(limit.initialTokens ?? limit.capacity))),
          origin,
        ),
    );
    this.grantOrder = this.keys.map(() => []);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The largest count one call may ask for: the smallest capacity. */
  get capacity(): number {
    return Number(this.key(0).live.capacity);
  }

  /** The number of limits in force. */
  get limitCount(): number {
    return this.key(0).live.limits.length;
  }

  /** Brings key `key` up to instant `t`: grants, in order, everyone due by then, each at its instant. */
  advance(key: number, t: Exact): void {
    const bucket = this.key(key);
    for (let head = bucket.queue[0]; head !== undefined; head = bucket.queue[0]) {
      if (bucket.live.grantAt(head.count) > t) break;
      const at = bucket.live.grant(head.count);
      bucket.queue.shift();
      this.granted(key, head.id, head.count, at);
    }
    bucket.live.moveTo(t);
  }

  advanceAll(t: Exact): void {
    for (let key = 0; key < this.keys.length; key += 1) this.advance(key, t);
  }

  /** `available` for `key` at `t`. */
  available(key: number, t: Exact): number {
    if (this.closed) return 0;
    this.advance(key, t);
    const bucket = this.key(key);
    return bucket.queue.length === 0 ? Number(bucket.live.tokens) : 0;
  }

  /** `available` for `key` as of the last time the model was brought up to date (no advance). */
  lastAvailable(key: number): number {
    if (this.closed) return 0;
    const bucket = this.key(key);
    return bucket.queue.length === 0 ? Number(bucket.live.tokens) : 0;
  }

  pending(key: number, t?: Exact): number {
    if (this.closed) return 0;
    if (t !== undefined) this.advance(key, t);
    return this.key(key).queue.length;
  }

  stats(t?: Exact): ModelStats {
    if (t !== undefined && !this.closed) this.advanceAll(t);
    const pending = this.closed ? 0 : this.keys.reduce((sum, bucket) => sum + bucket.queue.length, 0);
    return { ...this.counts, pending };
  }

  /** The queued callers of `key` with their instants, in order. */
  plan(key: number): { waiter: ModelWaiter; at: Exact }[] {
    return this.key(key).plan();
  }

  /** Whether a `getToken(count)` made at `t` would have to queue (after bringing `key` up to `t`). */
  mustQueue(key: number, count: number, t: Exact): boolean {
    this.advance(key, t);
    const bucket = this.key(key);
    return bucket.queue.length !== 0 || bucket.live.tokens < BigInt(count);
  }

  /**
   * `waitTime(count)` at `t`: the exact wait, 0 when granted at once; a refusal when it throws.
   */
  waitTime(key: number, count: unknown, t: Exact): Exact | Refusal {
    if (this.closed) return { kind: 'BucketClosedError' };
    if (!this.validCount(count)) return { kind: 'RangeError' };
    if (!this.mustQueue(key, count, t)) return 0n;
    return this.key(key).tail().grantAt(BigInt(count)) - t;
  }

  /** `tryGetToken(count)` at `t`: whether it took the tokens; a refusal when it throws. */
  tryGetToken(key: number, count: unknown, t: Exact): boolean | Refusal {
    if (this.closed) return { kind: 'BucketClosedError' };
    if (!this.validCount(count)) return { kind: 'RangeError' };
    if (this.mustQueue(key, count, t)) {
      this.counts.denied += 1;
      return false;
    }
    const live = this.key(key).live;
    for (const limit of live.limits) limit.tokens -= BigInt(count);
    this.counts.tokensGranted += count;
    this.counts.granted += 1;
    return true;
  }

  /**
   * `getToken(count, { maxWait, signal })` at `t`. The caller has made sure that at most one reason
   * to refuse at once applies (so that their order does not matter).
   */
  getToken(call: ModelCall, t: Exact): void {
    const { id, key, count, maxWait } = call;
    const refuse = (refusal: Refusal): void => {
      this.settle({ id, granted: false, refusal });
    };
    if (this.closed) return refuse({ kind: 'BucketClosedError' });
    if (!this.validCount(count)) return refuse({ kind: 'RangeError' });
    if (maxWait !== undefined && !(maxWait >= 0)) return refuse({ kind: 'RangeError' });
    if (call.aborted !== undefined) return refuse(call.aborted);
    if (!this.mustQueue(key, count, t)) {
      const live = this.key(key).live;
      for (const limit of live.limits) limit.tokens -= BigInt(count);
      this.granted(key, id, BigInt(count), t);
      return;
    }
    const bucket = this.key(key);
    const instant = bucket.tail().grantAt(BigInt(count));
    const wait = instant - t;
    if (maxWait !== undefined && exceeds(wait, maxWait, instant, call.libraryWaitTime)) {
      this.counts.maxWaitExceeded += 1;
      return refuse({ kind: 'MaxWaitExceededError', waitTime: wait, maxWait });
    }
    if (call.addListenerThrows !== undefined) return refuse({ kind: 'value', value: call.addListenerThrows.value });
    bucket.queue.push({ id, count: BigInt(count), calledAt: t, maxWait, abortGroup: call.abortGroup });
  }

  /** The abort of `group` at `t`, rejecting its queued callers with `refusal`; the rest move up. */
  abort(group: object, refusal: Refusal, t: Exact): void {
    this.keys.forEach((bucket, key) => {
      if (!bucket.queue.some((waiter) => waiter.abortGroup === group)) return;
      this.advance(key, t);
      const leaving = bucket.queue.filter((waiter) => waiter.abortGroup === group);
      bucket.queue = bucket.queue.filter((waiter) => waiter.abortGroup !== group);
      for (const waiter of leaving) {
        this.counts.aborted += 1;
        this.settle({ id: waiter.id, granted: false, refusal });
      }
      this.advance(key, t);
    });
  }

  /**
   * `reconfigure()` at `t` with the new `limits`, or undefined for options that must throw (nothing
   * changes then). Returns whether it was accepted.
   */
  reconfigure(limits: readonly LimitConfig[] | undefined, t: Exact): boolean {
    if (this.closed || limits === undefined || !validLimits(limits)) return false;
    this.keys.forEach((bucket, key) => {
      this.advance(key, t);
      const held = bucket.live.limits.map((limit) => limit.tokens);
      // The tokens held carry over, capped at the new capacity; a new limit starts full.
      const next = limits.map((limit, i) => {
        const capacity = BigInt(limit.capacity);
        const carried = held[i] ?? capacity;
        return limitFrom(limit, t, carried < capacity ? carried : capacity);
      });
      bucket.live = new Position(next, t);
      // The queue, re-planned in the same order under the new limits.
      const projection = bucket.live.clone();
      const capacity = bucket.live.capacity;
      const kept: ModelWaiter[] = [];
      for (const waiter of bucket.queue) {
        if (waiter.count > capacity) {
          this.counts.overCapacity += 1;
          this.settle({ id: waiter.id, granted: false, refusal: { kind: 'overCapacity' } });
          continue;
        }
        const instant = projection.grantAt(waiter.count);
        const wait = instant - waiter.calledAt;
        if (waiter.maxWait !== undefined && exceeds(wait, waiter.maxWait, instant, undefined)) {
          this.counts.maxWaitExceeded += 1;
          this.settle({
            id: waiter.id,
            granted: false,
            refusal: { kind: 'MaxWaitExceededError', waitTime: wait, maxWait: waiter.maxWait },
          });
          continue;
        }
        projection.grant(waiter.count);
        kept.push(waiter);
      }
      bucket.queue = kept;
      this.advance(key, t);
    });
    return true;
  }

  /** `close()` at `t`: everyone still queued is rejected with BucketClosedError. */
  close(t: Exact): void {
    if (this.closed) return;
    this.advanceAll(t);
    this.closed = true;
    for (const bucket of this.keys) {
      for (const waiter of bucket.queue) {
        this.counts.closed += 1;
        this.settle({ id: waiter.id, granted: false, refusal: { kind: 'BucketClosedError' } });
      }
      bucket.queue = [];
    }
  }

  private validCount(count: unknown): count is number {
    return typeof count === 'number' && Number.isInteger(count) && count > 0 && count <= this.capacity;
  }

  private granted(key: number, id: number, count: bigint, at: Exact): void {
    this.counts.granted += 1;
    this.counts.tokensGranted += Number(count);
    this.grantedAt.set(id, at);
    this.grantOrder[key]?.push(id);
    this.settle({ id, granted: true, at });
  }

  private key(key: number): KeyModel {
    const bucket = this.keys[key];
    if (bucket === undefined) throw new RangeError(`the model has no key ${key}`);
    return bucket;
  }
}

/**
 * Whether a wait of exactly `wait` ms, until `instant`, exceeds `maxWait`. Within floating-point
 * rounding of each other (the library computes instants in doubles, so the rounding is that of the
 * instant), the library's own `waitTime()` decides, if given.
 */
function exceeds(wait: Exact, maxWait: number, instant: Exact, libraryWaitTime: number | undefined): boolean {
  if (maxWait === Number.POSITIVE_INFINITY) return false;
  const exactMaxWait = exact(maxWait);
  const slack = exact(tolerance(maxWait, toNumber(instant)));
  if (libraryWaitTime !== undefined && wait - exactMaxWait <= slack && exactMaxWait - wait <= slack) {
    return libraryWaitTime > maxWait;
  }
  return wait > exactMaxWait;
}
