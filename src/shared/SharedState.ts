import { pauseUntil } from '../core/decide.js';
import { MultiLimit, NO_PAUSE, SingleLimit, type LimitState } from '../core/limits.js';
import { refill, stepsAt, stepTime, type RefillSchedule } from '../core/refill.js';
import type { ResolvedLimit } from '../options/bucketOptions.js';
import {
  BORN,
  CAPACITY,
  CHAIN_RESERVED,
  EARLIER,
  GENERATION,
  LIMIT_COUNT,
  limitBase,
  ORIGIN,
  RECONFIGURED_AT,
  RECONFIGURED_SLOTS,
  REFILL_INTERVAL,
  REFILL_TOKENS,
  RESUME_AT,
  SEQUENCE,
  STEP,
  TOKENS,
  writeLimits,
} from './layout.js';
import { SharedBuffer } from './SharedBuffer.js';

/** Float64 indexes of the first limit's position (the hot path). */
const FIRST_TOKENS = limitBase(0) + TOKENS;
const FIRST_STEP = limitBase(0) + STEP;

/** Where a state stood: each limit's tokens and step, in order (`[tokens0, step0, tokens1, step1, …]`). */
export type Snapshot = readonly number[];

/**
 * SharedState is one thread's access to a shared bucket's state in its `SharedArrayBuffer` (see
 * `layout.ts`): the configuration (every limit's schedule) and the state (every limit's tokens and
 * step, the positions of the core's `SingleLimit`s), guarded by the lock of `lock.ts`.
 *
 * The state it holds is the bucket's *tail*, the core's decision state: where the limits stand once
 * every caller queued in any thread has been granted. So a thread decides exactly as an in-process
 * bucket does, through `decide()`, `peekWait()` and `peekAvailable()` of `src/core/decide.ts`: it takes
 * the lock, {@link read}s the state into a `LimitState`, runs the decision and {@link write}s the state
 * back. This is governor's `StateStore::measure_and_replace(key, f)` with a lock in place of its
 * compare-and-swap loop: the state of several limits spans several words, which no single atomic
 * instruction can replace, and a lock held for a few hundred nanoseconds costs less than re-running the
 * decision on every lost race.
 *
 * Every method here must be called with the lock held (see {@link SharedBuffer} for those that need
 * not); their reads and writes are plain, ordered across threads by the lock's atomics.
 */
export class SharedState extends SharedBuffer {
  /** The generation {@link limits} were built for; -1 before the first {@link read}. */
  private builtFor = -1;
  /** One `SingleLimit` per limit in force, loaded with the shared positions at each {@link read}. */
  private limits: SingleLimit[] = [];
  /** The `MultiLimit` the last {@link read} or {@link restore} of several limits returned (to write its gate back). */
  private multi: MultiLimit | undefined = undefined;
  /** The capacity in force at the last {@link read} (the smallest, with several limits). */
  capacity = 0;

  /** The configuration's generation: bumped by every reconfiguration. */
  get generation(): number {
    return this.words[GENERATION] ?? 0;
  }

  /** The state's write sequence: bumped by every write, so a thread can tell whether anyone wrote since it did. */
  get sequence(): number {
    return this.floats[SEQUENCE] ?? 0;
  }

  /**
   * Returns the shared state as a `LimitState` to decide on: a `SingleLimit` (reused from call to call)
   * for one limit, a `MultiLimit` over them for several. Valid until the next `read()`; a decision
   * changes it in place, and {@link write} stores it.
   */
  read(): LimitState {
    const floats = this.floats;
    if (this.words[GENERATION] !== this.builtFor) this.rebuild();
    const limits = this.limits;
    if (limits.length === 1) {
      // The common case, and the hot path of every call: no loop, no allocation.
      const only = limits[0] as SingleLimit;
      place(only, floats[FIRST_TOKENS] as number, floats[FIRST_STEP] as number);
      const gate = floats[RESUME_AT] as number;
      if (only.resumeAt !== gate) only.resumeAt = gate;
      return only;
    }
    for (let i = 0; i < limits.length; i += 1) {
      const base = limitBase(i);
      place(limits[i] as SingleLimit, floats[base + TOKENS] as number, floats[base + STEP] as number);
    }
    return this.several();
  }

  /** Returns the state as {@link read} would, loaded from `snapshot` instead of the shared memory. */
  restore(snapshot: Snapshot): LimitState {
    if (this.words[GENERATION] !== this.builtFor) this.rebuild();
    const limits = this.limits;
    for (let i = 0; i < limits.length; i += 1) {
      place(limits[i] as SingleLimit, snapshot[2 * i] as number, snapshot[2 * i + 1] as number);
    }
    if (limits.length !== 1) return this.several();
    const only = limits[0] as SingleLimit;
    only.resumeAt = this.floats[RESUME_AT] as number;
    return only;
  }

  /** The limits placed in {@link limits} as one `MultiLimit`, with the pause gate in force. */
  private several(): MultiLimit {
    const multi = new MultiLimit(this.limits);
    multi.resumeAt = this.floats[RESUME_AT] as number;
    this.multi = multi;
    return multi;
  }

  /** The pause gate in force: the end of a pause (ms), or -Infinity (see `LimitState.resumeAt`). */
  get resumeAt(): number {
    return this.floats[RESUME_AT] as number;
  }

  /** Stores the state last returned by {@link read} or {@link restore}; returns the new write sequence. */
  write(): number {
    const floats = this.floats;
    const limits = this.limits;
    if (limits.length === 1) {
      const only = limits[0] as SingleLimit;
      floats[FIRST_TOKENS] = only.tokens;
      floats[FIRST_STEP] = only.step;
      // Moved only by a pause and by the first advance past its end: a store then, not at every write.
      if (only.resumeAt !== floats[RESUME_AT]) floats[RESUME_AT] = only.resumeAt;
    } else {
      this.writeAll();
    }
    const sequence = (floats[SEQUENCE] as number) + 1;
    floats[SEQUENCE] = sequence;
    return sequence;
  }

  /** {@link write} of several limits. */
  private writeAll(): void {
    const floats = this.floats;
    const limits = this.limits;
    for (let i = 0; i < limits.length; i += 1) {
      const limit = limits[i] as SingleLimit;
      const base = limitBase(i);
      floats[base + TOKENS] = limit.tokens;
      floats[base + STEP] = limit.step;
    }
    if (this.multi !== undefined) floats[RESUME_AT] = this.multi.resumeAt;
  }

  /**
   * Sets the write sequence back to `sequence`, after a thread has undone its own writes since then
   * (a give-back): nobody else holds a later number, since every write after it was that thread's.
   */
  rewind(sequence: number): void {
    this.floats[SEQUENCE] = sequence;
    Atomics.add(this.words, EARLIER, 1); // the state it undid to grants no later than the undone one
  }

  /** Returns where the shared state stands now (before a {@link write} of a decision made since the read). */
  stored(): Snapshot {
    const snapshot: number[] = [];
    const count = this.words[LIMIT_COUNT] as number;
    for (let i = 0; i < count; i += 1) {
      const base = limitBase(i);
      snapshot.push(this.floats[base + TOKENS] as number, this.floats[base + STEP] as number);
    }
    return snapshot;
  }

  /** Returns where the state last returned by {@link read} or {@link restore} stands now. */
  current(): Snapshot {
    return this.limits.flatMap((limit) => [limit.tokens, limit.step]);
  }

  /** Every limit's schedule in force (origin included), in order. */
  schedules(): readonly RefillSchedule[] {
    if (this.words[GENERATION] !== this.builtFor) this.rebuild();
    return this.limits.map(({ schedule }) => schedule);
  }

  /**
   * Returns the generation at which limit `i` last started afresh: a thread gives the tokens of a
   * reservation made at generation `g` back only to the limits born at or before `g`.
   */
  bornAt(i: number): number {
    return this.floats[limitBase(i) + BORN] ?? 0;
  }

  /**
   * Puts `limits` in force from clock reading `now`: limit `i` holds `tokens[i]` at step 0 and was born
   * at `born[i]`. Bumps the generation and the write sequence; returns the new generation.
   */
  replace(limits: readonly ResolvedLimit[], tokens: readonly number[], born: readonly number[], now: number): number {
    writeLimits(this.floats, limits, tokens, now, born);
    const words = this.words;
    words[LIMIT_COUNT] = limits.length;
    const generation = (words[GENERATION] as number) + 1;
    Atomics.store(words, GENERATION, generation); // also read outside the lock, as a hint
    this.floats[RECONFIGURED_AT + (generation % RECONFIGURED_SLOTS)] = now;
    this.floats[SEQUENCE] = this.sequence + 1;
    Atomics.add(words, EARLIER, 1);
    return generation;
  }

  /**
   * Returns the clock reading (ms) of the reconfiguration that began generation `generation`, or
   * undefined when the ring no longer remembers it (more than {@link RECONFIGURED_SLOTS} since).
   */
  reconfiguredAt(generation: number): number | undefined {
    if (generation > this.generation || this.generation - generation >= RECONFIGURED_SLOTS) return undefined;
    return this.floats[RECONFIGURED_AT + (generation % RECONFIGURED_SLOTS)];
  }

  /** Tokens reserved since nobody was queued in any thread (see `CHAIN_RESERVED` in `layout.ts`). */
  get chainReserved(): number {
    return this.floats[CHAIN_RESERVED] ?? 0;
  }

  set chainReserved(tokens: number) {
    this.floats[CHAIN_RESERVED] = tokens;
  }

  /**
   * Gives `count` tokens back to every limit that has held since generation `generation` (a limit
   * added by a later reconfiguration never had them taken), each capped at its capacity: the tokens of
   * a reservation made at that generation which its thread now re-plans.
   */
  giveBackTokens(count: number, generation: number): void {
    const floats = this.floats;
    const limits = this.words[LIMIT_COUNT] as number;
    for (let i = 0; i < limits; i += 1) {
      const base = limitBase(i);
      if ((floats[base + BORN] as number) > generation) continue;
      floats[base + TOKENS] = Math.min(floats[base + CAPACITY] as number, (floats[base + TOKENS] as number) + count);
    }
    this.floats[SEQUENCE] = this.sequence + 1;
    Atomics.add(this.words, EARLIER, 1);
  }

  /**
   * Pauses until clock reading `until` (ms) from clock reading `now`, voiding every reservation
   * outstanding in any thread (see `pause()` in `operations.ts`); the limits must have been placed by
   * a {@link read} or {@link restore} brought up to `now`. Then bumps the generation: every thread
   * re-plans its queued callers, and since every limit is born anew, none of their reservations gives
   * tokens back.
   */
  pause(now: number, until: number): void {
    this.placePaused(now, until);
    const words = this.words;
    const generation = (words[GENERATION] as number) + 1;
    Atomics.store(words, GENERATION, generation); // also read outside the lock, as a hint
    this.floats[RECONFIGURED_AT + (generation % RECONFIGURED_SLOTS)] = now;
    for (let i = 0; i < this.limits.length; i += 1) this.floats[limitBase(i) + BORN] = generation;
    this.chainReserved = 0;
    // Voided reservations can make the next grant come sooner than a thread last saw.
    Atomics.add(words, EARLIER, 1);
  }

  /**
   * Puts the pause gate in force that a `reconfigure()` during a pause must keep (lock held, just
   * after {@link replace}): the new limits are capped at one refill when the pause ends.
   */
  keepPause(now: number): void {
    const until = this.resumeAt;
    if (!(until > now)) return;
    this.read();
    this.placePaused(now, until);
  }

  /**
   * Places each limit, as the last {@link read} or {@link restore} left it, where it stands at `now`
   * (or at the end of a pause in force, whose position it already holds) once the reservations beyond
   * that are taken away, never below 0 tokens (a lower bound: tokens are never minted); then runs the
   * core's `pauseUntil(until)` on them and writes them.
   */
  private placePaused(now: number, until: number): void {
    const gate = this.resumeAt;
    const from = gate > now ? gate : now;
    const limits = this.limits;
    for (const limit of limits) {
      const { schedule } = limit;
      const base = stepsAt(schedule, from);
      const tokens =
        limit.step > base
          ? Math.max(0, limit.tokens - (limit.step - base) * schedule.refillTokens)
          : refill(schedule, limit.tokens, base - limit.step);
      place(limit, tokens, base);
      limit.resumeAt = NO_PAUSE;
    }
    this.floats[RESUME_AT] = NO_PAUSE;
    const state: LimitState = limits.length === 1 ? (limits[0] as SingleLimit) : this.several();
    pauseUntil(state, until);
    this.write();
  }

  /** Rebuilds {@link limits} from the configuration in shared memory. */
  private rebuild(): void {
    const floats = this.floats;
    const count = this.words[LIMIT_COUNT] as number;
    const limits: SingleLimit[] = [];
    let capacity = Number.POSITIVE_INFINITY;
    for (let i = 0; i < count; i += 1) {
      const base = limitBase(i);
      const schedule: RefillSchedule = {
        capacity: floats[base + CAPACITY] as number,
        refillTokens: floats[base + REFILL_TOKENS] as number,
        refillInterval: floats[base + REFILL_INTERVAL] as number,
        origin: floats[base + ORIGIN] as number,
      };
      capacity = Math.min(capacity, schedule.capacity);
      limits.push(new SingleLimit(schedule, 0, 0));
    }
    this.limits = limits;
    this.capacity = capacity;
    this.builtFor = this.words[GENERATION] as number;
  }
}

/** Puts `limit` at `tokens` tokens just after step `step`. */
function place(limit: SingleLimit, tokens: number, step: number): void {
  limit.tokens = tokens;
  limit.step = step;
  limit.nextStepAt = stepTime(limit.schedule, step + 1);
}
