import { expect } from 'vitest';
import { RedisUnavailableError } from '../../src/redis/index.js';

/** What a call under load came to, observed in real time (performance.now()). */
export interface Outcome {
  readonly kind: 'get' | 'try';
  readonly calledAt: number;
  readonly settledAt: number;
  readonly result: 'granted' | 'refused' | 'maxWait' | 'unavailable' | 'other';
  readonly error?: unknown;
}

/** What {@link load} drives: a Redis bucket, or a one-key view of a keyed store. */
export interface LoadTarget {
  getToken(count?: number, options?: { maxWait?: number }): Promise<void>;
  tryGetToken(): Promise<boolean>;
}

/**
 * Drives `bucket` with a `getToken(1, { maxWait })` and a `tryGetToken()` every `every` ms until
 * stopped, and records every outcome; `stop()` resolves once every call has settled, sorted by
 * settling time.
 */
export function load(bucket: LoadTarget, maxWait: number, every = 4): { stop(): Promise<Outcome[]> } {
  const outcomes: Outcome[] = [];
  const inFlight = new Set<Promise<void>>();
  const record = (kind: Outcome['kind'], promise: Promise<unknown>): void => {
    const calledAt = performance.now();
    const settled = promise.then(
      (value) => {
        const result = value === false ? 'refused' : 'granted';
        outcomes.push({ kind, calledAt, settledAt: performance.now(), result });
      },
      (error: unknown) => {
        const result =
          error instanceof RedisUnavailableError
            ? 'unavailable'
            : (error as Error).name === 'MaxWaitExceededError'
              ? 'maxWait'
              : 'other';
        outcomes.push({ kind, calledAt, settledAt: performance.now(), result, error });
      },
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
  };
  const timer = setInterval(() => {
    record('get', bucket.getToken(1, { maxWait }));
    record('try', bucket.tryGetToken());
  }, every);
  return {
    async stop() {
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return outcomes.sort((a, b) => a.settledAt - b.settledAt);
    },
  };
}

/** A bucket's schedule: `capacity` tokens, then one token every `interval` ms. */
export interface Schedule {
  readonly capacity: number;
  readonly interval: number;
}

/**
 * The most grants any window of `window` ms of observed settling times held, less what the schedule
 * allows in it: a window of w ms covers instants in Redis within w + `lateness` (grants are observed
 * late by up to that), which hold at most `capacity` + ceil((w + lateness) / interval) tokens.
 * Positive: that many tokens too many.
 */
export function excess(outcomes: readonly Outcome[], schedule: Schedule, window: number, lateness: number): number {
  const grants = outcomes
    .filter((outcome) => outcome.result === 'granted')
    .map((outcome) => outcome.settledAt)
    .sort((a, b) => a - b);
  let worst = 0;
  for (let i = 0, j = 0; i < grants.length; i += 1) {
    while (j < grants.length && (grants[j] ?? 0) < (grants[i] ?? 0) + window) j += 1;
    worst = Math.max(worst, j - i);
  }
  return worst - (schedule.capacity + Math.ceil((window + lateness) / schedule.interval));
}

/**
 * Checks that every call settled within `bound` ms with a documented result, and that no window of
 * 50, 200 or 1000 ms (nor the whole run) held more than the schedule plus `extra` tokens.
 */
export function checkOutcomes(
  outcomes: readonly Outcome[],
  schedule: Schedule,
  { bound, lateness, extra = 0 }: { bound: number; lateness: number; extra?: number },
): void {
  expect(outcomes.length).toBeGreaterThan(100);
  for (const outcome of outcomes) {
    expect(outcome.result, String(outcome.error)).not.toBe('other');
    expect(outcome.settledAt - outcome.calledAt, `a ${outcome.kind} call ${outcome.result}`).toBeLessThanOrEqual(bound);
  }
  const first = outcomes.reduce((least, outcome) => Math.min(least, outcome.settledAt), Infinity);
  const last = outcomes.reduce((most, outcome) => Math.max(most, outcome.settledAt), -Infinity);
  for (const window of [50, 200, 1000, last - first + 1]) {
    expect(
      excess(outcomes, schedule, window, lateness),
      `tokens beyond the schedule in ${window} ms`,
    ).toBeLessThanOrEqual(extra);
  }
}

/** Counts outcomes by result, for the logs. */
export function tally(outcomes: readonly Outcome[]): Record<Outcome['result'], number> {
  const counts = { granted: 0, refused: 0, maxWait: 0, unavailable: 0, other: 0 };
  for (const outcome of outcomes) counts[outcome.result] += 1;
  return counts;
}
