import { MultiLimit, SingleLimit, type LimitState } from '../core/limits.js';
import type { RefillSchedule } from '../core/refill.js';
import {
  CAPACITY,
  EARLIER,
  GENERATION,
  LIMIT_COUNT,
  limitBase,
  ORIGIN,
  REFILL_INTERVAL,
  REFILL_TOKENS,
  RESUME_AT,
  SEQUENCE,
  STEP,
  TOKENS,
} from './layout.js';
import { SharedBuffer } from './SharedBuffer.js';

/** Float64 indexes of the first limit's position (the hot path). */
const FIRST_TOKENS = limitBase(0) + TOKENS;
const FIRST_STEP = limitBase(0) + STEP;

/** Where a state stood: each limit's tokens and step, in order (`[tokens0, step0, tokens1, step1, …]`). */
export type Snapshot = readonly number[];

/**
 * SharedLimits is one thread's access to the limits of a shared bucket in its `SharedArrayBuffer` (see
 * `layout.ts`), as the core's decision state: the configuration (every limit's schedule) and the state
 * (every limit's tokens and step, the positions of the core's `SingleLimit`s, and the pause gate),
 * guarded by the lock of `lock.ts`. It loads them into a `LimitState` ({@link read}, {@link restore})
 * and stores them back ({@link write}), numbering the writes; {@link SharedState} adds the changes that
 * begin a new generation (reconfiguration, pause, give-back).
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
export class SharedLimits extends SharedBuffer {
  /** The generation {@link limits} were built for; -1 before the first {@link read}. */
  private builtFor = -1;
  /** One `SingleLimit` per limit in force, loaded with the shared positions at each {@link read}. */
  protected limits: SingleLimit[] = [];
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
      only.place(floats[FIRST_TOKENS] as number, floats[FIRST_STEP] as number);
      const gate = floats[RESUME_AT] as number;
      if (only.resumeAt !== gate) only.resumeAt = gate;
      return only;
    }
    for (let i = 0; i < limits.length; i += 1) {
      const base = limitBase(i);
      (limits[i] as SingleLimit).place(floats[base + TOKENS] as number, floats[base + STEP] as number);
    }
    return this.several();
  }

  /** Returns the state as {@link read} would, loaded from `snapshot` instead of the shared memory. */
  restore(snapshot: Snapshot): LimitState {
    if (this.words[GENERATION] !== this.builtFor) this.rebuild();
    const limits = this.limits;
    for (let i = 0; i < limits.length; i += 1) {
      (limits[i] as SingleLimit).place(snapshot[2 * i] as number, snapshot[2 * i + 1] as number);
    }
    if (limits.length !== 1) return this.several();
    const only = limits[0] as SingleLimit;
    only.resumeAt = this.floats[RESUME_AT] as number;
    return only;
  }

  /** The limits placed in {@link limits} as one `MultiLimit`, with the pause gate in force. */
  protected several(): MultiLimit {
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
