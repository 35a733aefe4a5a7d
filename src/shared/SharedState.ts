import { pauseUntil } from '../core/decide.js';
import { NO_PAUSE, type LimitState, type SingleLimit } from '../core/limits.js';
import { refill, stepsAt } from '../core/refill.js';
import type { ResolvedLimit } from '../options/bucketOptions.js';
import {
  BORN,
  CAPACITY,
  CHAIN_RESERVED,
  EARLIER,
  GENERATION,
  LIMIT_COUNT,
  limitBase,
  RECONFIGURED_AT,
  RECONFIGURED_SLOTS,
  RESUME_AT,
  SEQUENCE,
  TOKENS,
  writeLimits,
} from './layout.js';
import { SharedLimits } from './SharedLimits.js';

/**
 * SharedState is one thread's whole access to a shared bucket's state: the limits as the core's
 * decision state ({@link SharedLimits}), plus the writes that change more than one decision does:
 * {@link replace} (a reconfiguration, which begins a new generation; the ring of the instants each
 * generation began), {@link pause} (which voids every reservation), {@link giveBackTokens} (the tokens
 * of a reservation its thread re-plans), and {@link chainReserved}, the tokens reserved while callers
 * are queued, which a reconfiguration carries as a debt.
 *
 * Every method here must be called with the lock held; see {@link SharedLimits}.
 */
export class SharedState extends SharedLimits {
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
   * outstanding in any thread (see `pause()` in `replan.ts`); the limits must have been placed by
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
      limit.place(tokens, base);
      limit.resumeAt = NO_PAUSE;
    }
    this.floats[RESUME_AT] = NO_PAUSE;
    const state: LimitState = limits.length === 1 ? (limits[0] as SingleLimit) : this.several();
    pauseUntil(state, until);
    this.write();
  }
}
