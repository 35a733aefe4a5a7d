import fc from 'fast-check';
import { expect } from 'vitest';
import type { GetTokenOptions, ReconfigureOptions, RefillLimit, TokenBucketStats } from '../../src/index.js';
import { flushPromises, type FakeClock } from './clock.js';

/**
 * The one differential harness: random sequences of calls run against a bucket under test and against
 * a reference (lazy buckets), each on its own fake clock, and everything observable is compared, every
 * entry stamped with the fake time. Used by the list-driven differential property
 * (test/differential.property.test.ts), the keyed bucket's (test/keyed.property.test.ts) and Redis'
 * (test/redis.differential.property.test.ts).
 */

/** One step of a scenario. `key` indexes the scenario's keys (0 when it has one). */
export type Op =
  | { kind: 'get'; key: number; count: number; abortable: boolean; maxWait: number | undefined }
  | { kind: 'try'; key: number; count: number }
  | { kind: 'wait'; key: number; count: number }
  | { kind: 'abort'; index: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'reconfigure'; limits: Array<Omit<RefillLimit, 'initialTokens'>> };

/** What a scenario may do; every feature off by default. */
export interface ScenarioShape {
  /** How many keys the calls spread over (1: a plain bucket). */
  readonly keys?: number;
  /** Most limits per bucket (1: plain options, `{ capacity, ... }`; more: `{ limits: [...] }`). */
  readonly maxLimits?: number;
  /** Fractional refill intervals (7.5, 1/3 ms ...), whose steps fall between the whole-ms timer ticks. */
  readonly fractional?: boolean;
  /** `reconfigure({ limits })` steps (needs a target with `reconfigure`). */
  readonly reconfigure?: boolean;
  /** Most steps. */
  readonly maxOps?: number;
  /** Longest `advance`, in ms. */
  readonly maxAdvance?: number;
}

/** A scenario: the bucket's options (without the clock) and the steps. */
export interface Scenario {
  readonly options:
    | { capacity: number; refillTokens: number; refillInterval: number; initialTokens: number }
    | {
        limits: RefillLimit[];
      };
  readonly ops: Op[];
}

const interval = (fractional: boolean): fc.Arbitrary<number> =>
  fractional
    ? fc.oneof(
        fc.integer({ min: 1, max: 400 }),
        fc.tuple(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 2, max: 7 })).map(([n, d]) => n / d),
      )
    : fc.integer({ min: 1, max: 400 });

/** Random scenarios of `shape`. */
export function scenarioArb(shape: ScenarioShape = {}): fc.Arbitrary<Scenario> {
  const keys = shape.keys ?? 1;
  const maxLimits = shape.maxLimits ?? 1;
  const limit = fc.record({
    capacity: fc.integer({ min: 1, max: 6 }),
    refillTokens: fc.integer({ min: 1, max: 4 }),
    refillInterval: interval(shape.fractional ?? false),
  });
  return fc
    .array(fc.record({ limit, initial: fc.double({ min: 0, max: 1, noNaN: true }) }), {
      minLength: 1,
      maxLength: maxLimits,
    })
    .chain((limits) => {
      const built = limits.map(({ limit: l, initial }) => ({ ...l, initialTokens: Math.floor(initial * l.capacity) }));
      // Counts up to the first limit's capacity: above a (reconfigured) capacity is a RangeError, logged.
      const count = fc.integer({ min: 1, max: Math.max(...built.map((l) => l.capacity)) });
      const key = fc.integer({ min: 0, max: keys - 1 });
      const arbitraries: Array<fc.WeightedArbitrary<Op>> = [
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('get' as const),
            key,
            count,
            abortable: fc.boolean(),
            maxWait: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
          }),
        },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('try' as const), key, count }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('wait' as const), key, count }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
        {
          weight: 4,
          arbitrary: fc.record({
            kind: fc.constant('advance' as const),
            ms: fc.integer({ min: 0, max: shape.maxAdvance ?? 1500 }),
          }),
        },
      ];
      if (shape.reconfigure === true) {
        arbitraries.push({
          weight: 1,
          arbitrary: fc.record({
            kind: fc.constant('reconfigure' as const),
            limits: fc.array(limit, { minLength: 1, maxLength: maxLimits }),
          }),
        });
      }
      const [first] = built;
      return fc.record({
        options: fc.constant(maxLimits === 1 && first !== undefined ? first : { limits: built }),
        ops: fc.array(fc.oneof(...arbitraries), { maxLength: shape.maxOps ?? 60 }),
      });
    });
}

/** A bucket (or a keyed bucket, or one lazy bucket per key) as the harness drives it; answers may be promises. */
export interface DiffTarget {
  getToken(key: number, count: number, options: GetTokenOptions): Promise<void>;
  tryGetToken(key: number, count: number): boolean | Promise<boolean>;
  waitTime(key: number, count: number): number | Promise<number>;
  available(key: number): number | Promise<number>;
  pending(key: number): number;
  reconfigure?(options: ReconfigureOptions): void;
  stats?(): TokenBucketStats;
  close(): void;
}

/** What the harness observed: per-step lines, and each caller's outcome; compare them with {@link expectSameRun}. */
export interface DiffLog {
  /** One line per step and key: the time, the step's answer, then available and pending. */
  readonly steps: string[];
  /** Per key, the callers in the order they settled, each with how and when. */
  readonly settled: string[][];
  /** After the last step and a long wait: stats (when there are any) and the timers left after close(). */
  readonly end: string[];
}

/** What an answer was, or the name of what it threw or rejected with. */
async function attempt(call: () => unknown): Promise<string> {
  try {
    return String(await call());
  } catch (error) {
    return (error as Error).name;
  }
}

/**
 * Runs `ops` against `target` (on `clock`, which `target` reads) and returns what it observed.
 * `settle` lets real I/O finish (Redis); after every step the harness awaits it and flushes promises.
 * `beforeClose` runs once every queue has drained (60 s after the last step), just before `close()`.
 * With `predict`, every `wait` step also queues the same request and checks that it is granted at the
 * predicted instant (rounded up to a whole ms, when timers fire), unless an abort or reconfigure() came
 * after it.
 */
export async function runOps(
  target: DiffTarget,
  clock: FakeClock,
  ops: readonly Op[],
  options: { keys?: number; settle?: () => Promise<void>; predict?: boolean; beforeClose?: () => void } = {},
): Promise<DiffLog> {
  const keys = options.keys ?? 1;
  const settle = async (): Promise<void> => {
    await flushPromises();
    if (options.settle !== undefined) await options.settle();
    await flushPromises();
  };
  const steps: string[] = [];
  const settled: string[][] = Array.from({ length: keys }, () => []);
  const controllers: AbortController[] = [];
  const predictions: Array<{ id: number; key: number; at: number; index: number }> = [];
  let caller = 0;
  const at = (): number => clock.performance.now();
  const get = (key: number, count: number, getOptions: GetTokenOptions): number => {
    const id = caller++;
    const record = (line: string): void => {
      settled[key]?.push(line);
    };
    target.getToken(key, count, getOptions).then(
      () => record(`${at()} granted #${id}`),
      (error: unknown) => record(`${at()} rejected #${id} ${(error as Error).name}`),
    );
    return id;
  };
  for (const [index, step] of ops.entries()) {
    let answer = '';
    switch (step.kind) {
      case 'get': {
        const controller = new AbortController();
        if (step.abortable) controllers.push(controller);
        get(step.key, step.count, {
          ...(step.abortable ? { signal: controller.signal } : {}),
          ...(step.maxWait === undefined ? {} : { maxWait: step.maxWait }),
        });
        break;
      }
      case 'try':
        answer = `try(${step.count})=${await attempt(() => target.tryGetToken(step.key, step.count))}`;
        break;
      case 'wait': {
        const predicted = await attempt(() => target.waitTime(step.key, step.count));
        answer = `waitTime(${step.count})=${predicted}`;
        if (options.predict === true && /^\d/.test(predicted)) {
          const id = get(step.key, step.count, {});
          predictions.push({ id, key: step.key, at: Math.ceil(at() + Number(predicted)), index });
        }
        break;
      }
      case 'abort':
        if (controllers.length > 0) controllers[step.index % controllers.length]?.abort();
        break;
      case 'advance':
        await settle();
        await clock.tickAsync(step.ms);
        break;
      case 'reconfigure':
        answer = `reconfigure=${await attempt(() => target.reconfigure?.({ limits: step.limits }))}`;
        break;
    }
    await settle();
    for (let key = 0; key < keys; key += 1) {
      const available = await attempt(() => target.available(key));
      steps.push(`[${key}] ${at()} ${step.kind} ${answer} available=${available} pending=${target.pending(key)}`);
    }
  }
  for (let i = 0; i < 6; i += 1) {
    await settle();
    await clock.tickAsync(10_000);
  }
  await settle();
  const end: string[] = [];
  if (target.stats !== undefined) end.push(`stats=${JSON.stringify(target.stats())}`);
  options.beforeClose?.();
  target.close();
  await settle();
  end.push(`timers=${clock.countTimers()}`);
  for (const { id, key, at: expected, index } of predictions) {
    if (ops.slice(index + 1).some((o) => o.kind === 'abort' || o.kind === 'reconfigure')) continue;
    expect(settled[key], `waitTime() predicted #${id} at ${expected}`).toContain(`${expected} granted #${id}`);
  }
  return { steps, settled, end };
}

/** Expects `actual` to be `expected` step by step, caller by caller, and to leave no timer. */
export function expectSameRun(actual: DiffLog, expected: DiffLog, name: string): void {
  expect(actual.steps, `${name}: every step`).toEqual(expected.steps);
  expect(actual.settled, `${name}: every caller, per key, in settling order`).toEqual(expected.settled);
  expect(actual.end, `${name}: stats and timers at the end`).toEqual(expected.end);
  expect(actual.end.at(-1)).toBe('timers=0');
}

/** A bucket as the harness drives it, whatever key a step names; `reconfigure`/`stats` when it has them. */
export function bucketTarget(bucket: {
  readonly available: number | Promise<number>;
  readonly pending: number;
  getToken(count?: number, options?: GetTokenOptions): Promise<void>;
  tryGetToken(count?: number): boolean | Promise<boolean>;
  waitTime(count?: number): number | Promise<number>;
  close(): void;
  reconfigure?: (options: ReconfigureOptions) => unknown;
  stats?: () => TokenBucketStats;
}): DiffTarget {
  const { reconfigure, stats } = bucket;
  return {
    getToken: (_key, count, options) => bucket.getToken(count, options),
    tryGetToken: (_key, count) => bucket.tryGetToken(count),
    waitTime: (_key, count) => bucket.waitTime(count),
    available: () => bucket.available,
    pending: () => bucket.pending,
    ...(reconfigure === undefined
      ? {}
      : {
          reconfigure: (options: ReconfigureOptions) => {
            reconfigure.call(bucket, options);
          },
        }),
    ...(stats === undefined ? {} : { stats: () => stats.call(bucket) }),
    close: () => bucket.close(),
  };
}

/** One bucket per key (the reference of a keyed bucket): step `key` goes to `buckets[key]`. */
export function perKeyTarget(buckets: readonly DiffTarget[]): DiffTarget {
  const of = (key: number): DiffTarget => {
    const bucket = buckets[key];
    if (bucket === undefined) throw new RangeError(`no bucket for key ${key}`);
    return bucket;
  };
  return {
    getToken: (key, count, options) => of(key).getToken(0, count, options),
    tryGetToken: (key, count) => of(key).tryGetToken(0, count),
    waitTime: (key, count) => of(key).waitTime(0, count),
    available: (key) => of(key).available(0),
    pending: (key) => of(key).pending(0),
    reconfigure: (options) => {
      for (const bucket of buckets) bucket.reconfigure?.(options);
    },
    close: () => {
      for (const bucket of buckets) bucket.close();
    },
  };
}
