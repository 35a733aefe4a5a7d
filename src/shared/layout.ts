import type { ResolvedLimit } from '../options/bucketOptions.js';
import { formatValue, ownOption } from '../options/format.js';

/**
 * The layout of a shared bucket's `SharedArrayBuffer` (layout version 3, {@link MAGIC_VALUE}), 776 bytes:
 *
 * | bytes    | view      | what |
 * |----------|-----------|------|
 * | 0..39    | Int32 ×10 | {@link LOCK}, {@link CLOSED}, {@link PENDING}, {@link NOTICE}, {@link MAGIC}, {@link CLOCK_BASE}, {@link GENERATION}, {@link LIMIT_COUNT}, {@link EARLIER}, {@link DENIED_UNLOCKED} |
 * | 40..47   | Float64   | {@link RESUME_AT} |
 * | 64..127  | Float64 ×8| {@link SEQUENCE}, then the counters of `stats()` from {@link COUNTERS} |
 * | 128..639 | Float64 ×8 per limit, {@link MAX_LIMITS} limits | origin, capacity, refillTokens, refillInterval (the schedule), tokens, step (the core's `SingleLimit` position), born |
 * | 640..767 | Float64 ×16 | {@link RECONFIGURED_AT}: the clock reading of the reconfiguration that began each generation (a ring) |
 * | 768..775 | Float64   | {@link CHAIN_RESERVED} |
 *
 * Only {@link LOCK}, {@link CLOSED}, {@link PENDING}, {@link NOTICE}, {@link EARLIER} and
 * {@link DENIED_UNLOCKED} are accessed (with `Atomics`) outside the lock; everything else is read and written plainly, and only while the lock is held.
 */

/** The lock word (see `lock.ts`). */
export const LOCK = 0;
/** 1 once any thread has closed the bucket. */
export const CLOSED = 1;
/** Callers waiting, in every thread. */
export const PENDING = 2;
/** Bumped (and notified) at every close and reconfiguration: what a thread with waiters watches. */
export const NOTICE = 3;
/** The layout version ({@link MAGIC_VALUE}), written last at creation. */
export const MAGIC = 4;
/** How the bucket reads time: {@link DEFAULT_BASE} or {@link INJECTED_BASE}. */
export const CLOCK_BASE = 5;
/** The configuration's generation: bumped by every `reconfigure()`. */
export const GENERATION = 6;
/** How many limits are in force. */
export const LIMIT_COUNT = 7;
/**
 * Bumped (atomically, under the lock) by every write that can move the earliest grant earlier: a
 * give-back and a reconfiguration. Takes and reservations only ever move it later, so a thread that
 * saw the next grant come at some instant knows, while this word is unchanged, that none comes sooner.
 */
export const EARLIER = 8;
/** `tryGetToken()` refusals counted without the lock (atomically), folded into the counters now and then. */
export const DENIED_UNLOCKED = 9;

/**
 * Float64 index of the clock reading before which nothing is granted (the end of a `pause()`, the
 * core's `LimitState.resumeAt`), or -Infinity when no pause is in force. New in layout version 3.
 */
export const RESUME_AT = 5;

/** Float64 index of the state's write sequence: bumped by every write that takes or gives back tokens. */
export const SEQUENCE = 8;
/** Float64 index of the first counter of `stats()`, in {@link COUNTER_NAMES} order. */
export const COUNTERS = 9;
/** The counters kept in shared memory, in order (all but `pending`, which is the {@link PENDING} word). */
export const COUNTER_NAMES = [
  'tokensGranted',
  'granted',
  'denied',
  'maxWaitExceeded',
  'aborted',
  'closed',
  'overCapacity',
] as const;
/** One counter of `stats()` kept in shared memory. */
export type CounterName = (typeof COUNTER_NAMES)[number];

/** The most limits a shared bucket holds: its buffer has room for this many. */
export const MAX_LIMITS = 8;
/** Float64 index of limit `i`'s first field. */
export const limitBase = (i: number): number => 16 + 8 * i;
/** Field offsets within a limit. */
export const ORIGIN = 0;
export const CAPACITY = 1;
export const REFILL_TOKENS = 2;
export const REFILL_INTERVAL = 3;
export const TOKENS = 4;
export const STEP = 5;
/** The generation at which this limit started afresh (a limit added by `reconfigure()`). */
export const BORN = 6;

/** Float64 index of the ring of reconfiguration instants: generation g began at `[RECONFIGURED_AT + g % RECONFIGURED_SLOTS]`. */
export const RECONFIGURED_AT = limitBase(MAX_LIMITS);
/** How many reconfiguration instants the ring remembers. */
export const RECONFIGURED_SLOTS = 16;

/**
 * Float64 index of the tokens reserved since the state was last at or before the current instant
 * (since nobody was queued in any thread): a bound on the tokens promised to queued callers, which a
 * reconfiguration carries as a debt.
 */
export const CHAIN_RESERVED = RECONFIGURED_AT + RECONFIGURED_SLOTS;

/** The buffer's size in bytes. */
export const BYTES = 8 * (CHAIN_RESERVED + 1);
/** "TBF3": layout version 3 (version 2 had no {@link RESUME_AT}). */
export const MAGIC_VALUE = 0x54424633;
/** The default clock: `performance.timeOrigin + performance.now()` in every thread. */
export const DEFAULT_BASE = 1;
/** An injected clock (tests), the same in every thread. */
export const INJECTED_BASE = 2;

/** Layout version 1 (0.1.0 and the builds before this one): 192 bytes, its magic at Int32 index 18. */
const V1_BYTES = 192;
const V1_MAGIC = 18;
const V1_MAGIC_VALUE = 0x54424631;
/** Layout version 2 (the builds before `pause()`): this size, without {@link RESUME_AT}. */
const V2_MAGIC_VALUE = 0x54424632;

/**
 * Writes the positions of `limits` into `floats` at generation `generation`: each limit `i` starts its
 * schedule at clock reading `origin` (ms), holding `tokens[i]` at step 0.
 */
export function writeLimits(
  floats: Float64Array,
  limits: readonly ResolvedLimit[],
  tokens: readonly number[],
  origin: number,
  born: readonly number[],
): void {
  limits.forEach((limit, i) => {
    const base = limitBase(i);
    floats[base + ORIGIN] = origin;
    floats[base + CAPACITY] = limit.capacity;
    floats[base + REFILL_TOKENS] = limit.refillTokens;
    floats[base + REFILL_INTERVAL] = limit.refillInterval;
    floats[base + TOKENS] = tokens[i] ?? limit.capacity;
    floats[base + STEP] = 0;
    floats[base + BORN] = born[i] ?? 0;
  });
}

/** Returns a new buffer holding `limits` with their initial tokens, as of clock reading `origin`. */
export function createBuffer(
  limits: readonly ResolvedLimit[],
  origin: number,
  injectedClock: boolean,
): SharedArrayBuffer {
  const buffer = new SharedArrayBuffer(BYTES);
  const floats = new Float64Array(buffer);
  const words = new Int32Array(buffer);
  writeLimits(
    floats,
    limits,
    limits.map((limit) => limit.initialTokens),
    origin,
    [],
  );
  words[LIMIT_COUNT] = limits.length;
  floats[RESUME_AT] = Number.NEGATIVE_INFINITY;
  words[CLOCK_BASE] = injectedClock ? INJECTED_BASE : DEFAULT_BASE;
  Atomics.store(words, MAGIC, MAGIC_VALUE); // last: a buffer with its magic is complete
  return buffer;
}

/**
 * Returns the buffer of `handle` (its own `buffer` property) when it is a shared bucket's of this
 * layout. Throws a `TypeError` naming what was received otherwise, and a `TypeError` that says so when
 * it comes from a build with an older layout (every thread must run the same build).
 */
export function bufferOf(handle: unknown): SharedArrayBuffer {
  const buffer = typeof handle === 'object' && handle !== null ? ownOption(handle, 'buffer') : undefined;
  if (typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer) {
    const magic = buffer.byteLength === BYTES ? Atomics.load(new Int32Array(buffer), MAGIC) : undefined;
    if (magic === MAGIC_VALUE) return buffer;
    if (magic === V2_MAGIC_VALUE) throw olderBuild(2);
    if (buffer.byteLength === V1_BYTES && Atomics.load(new Int32Array(buffer), V1_MAGIC) === V1_MAGIC_VALUE) {
      throw olderBuild(1);
    }
  }
  throw new TypeError(`handle must be the handle of a SharedTokenBucketFilter, received ${formatValue(handle)}`);
}

/** The error for a handle of an older layout `version`: every thread must load the same build. */
function olderBuild(version: number): TypeError {
  return new TypeError(
    `handle comes from an older build of token-bucket-filter (shared layout version ${version}; this build reads version 3): every thread must load the same build`,
  );
}
