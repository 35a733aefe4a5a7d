import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { TimerTokenBucketFilter } from '../src/TimerTokenBucketFilter.js';
import type { MultiLimitOptions, ReconfigurableTokenBucketFilter, RefillLimit } from '../src/TokenBucketFilter.js';
import { createFakeClock, flushPromises, type FakeClock } from './support/clock.js';

// A sibling of differential.property.test.ts for what both kinds support beyond the core: several
// limits, reconfigure(), stats(), and waitTime() checked against the real grant instant.

type Op =
  | { kind: 'get'; count: number; abortable: boolean; maxWait: number | undefined }
  | { kind: 'try'; count: number }
  | { kind: 'predict'; count: number }
  | { kind: 'abort'; index: number }
  | { kind: 'advance'; ms: number }
  | { kind: 'reconfigure'; limits: Array<Omit<RefillLimit, 'initialTokens'>> };

const limit = fc.record({
  capacity: fc.integer({ min: 1, max: 6 }),
  refillTokens: fc.integer({ min: 1, max: 4 }),
  // Whole ms, and fractional ones (7.5, 1/3 …), whose steps fall between the whole-ms timer ticks.
  refillInterval: fc.oneof(
    fc.integer({ min: 1, max: 400 }),
    fc.tuple(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 2, max: 7 })).map(([n, d]) => n / d),
  ),
});

const scenario = fc
  .array(fc.record({ limit, initial: fc.double({ min: 0, max: 1, noNaN: true }) }), { minLength: 1, maxLength: 3 })
  .chain((limits) => {
    const count = fc.integer({ min: 1, max: 6 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          kind: fc.constant('get' as const),
          count,
          abortable: fc.boolean(),
          maxWait: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
        }),
      },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('try' as const), count }) },
      { weight: 2, arbitrary: fc.record({ kind: fc.constant('predict' as const), count }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }) },
      {
        weight: 4,
        arbitrary: fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('reconfigure' as const),
          limits: fc.array(limit, { minLength: 1, maxLength: 3 }),
        }),
      },
    );
    return fc.record({
      options: fc.constant<MultiLimitOptions>({
        limits: limits.map(({ limit: l, initial }) => ({ ...l, initialTokens: Math.floor(initial * l.capacity) })),
      }),
      ops: fc.array(op, { maxLength: 60 }),
    });
  });

/** Runs `ops` and returns everything observable, stamped with the time; checks waitTime() on the way. */
async function run(create: (clock: FakeClock) => ReconfigurableTokenBucketFilter, ops: Op[]): Promise<string[]> {
  const clock = createFakeClock();
  const bucket = create(clock);
  const log: string[] = [];
  const controllers: AbortController[] = [];
  const predictions: Array<{ id: number; at: number; index: number }> = [];
  let caller = 0;
  const at = () => clock.performance.now();
  const attempt = <T extends boolean | number>(call: () => T): T | string => {
    try {
      return call();
    } catch (error) {
      return (error as Error).name;
    }
  };
  const get = (count: number, signal: AbortSignal | undefined, maxWait: number | undefined) => {
    const id = caller++;
    bucket.getToken(count, { signal, maxWait }).then(
      () => log.push(`${at()} granted #${id}`),
      (error: unknown) => log.push(`${at()} rejected #${id} ${(error as Error).name}`),
    );
    return id;
  };
  for (const [index, step] of ops.entries()) {
    switch (step.kind) {
      case 'get': {
        const controller = new AbortController();
        if (step.abortable) controllers.push(controller);
        get(step.count, step.abortable ? controller.signal : undefined, step.maxWait);
        break;
      }
      case 'try':
        log.push(`${at()} try(${step.count})=${String(attempt(() => bucket.tryGetToken(step.count)))}`);
        break;
      case 'predict': {
        // waitTime() is what the bucket will do: queue the same request and check when it is granted.
        const predicted = attempt(() => bucket.waitTime(step.count));
        log.push(`${at()} waitTime(${step.count})=${String(predicted)}`);
        if (typeof predicted === 'number')
          // The fake clock reads whole ms here, and timers fire at whole ms: a grant instant between
          // two (a fractional interval's step) is served at the next whole ms.
          predictions.push({ id: get(step.count, undefined, undefined), at: Math.ceil(at() + predicted), index });
        break;
      }
      case 'abort':
        if (controllers.length > 0) controllers[step.index % controllers.length]?.abort();
        break;
      case 'advance':
        await clock.tickAsync(step.ms);
        break;
      case 'reconfigure':
        bucket.reconfigure({ limits: step.limits });
        log.push(`${at()} reconfigured capacity=${bucket.capacity}`);
        break;
    }
    await flushPromises();
    log.push(`${at()} ${step.kind} available=${bucket.available} pending=${bucket.pending}`);
  }
  await clock.tickAsync(60_000);
  log.push(`stats=${JSON.stringify(bucket.stats())}`);
  bucket.close();
  await flushPromises();
  log.push(`timers=${clock.countTimers()}`);
  // Every prediction came true to the millisecond (rounded up to one), unless an abort or reconfigure() came after it (an
  // abort ahead moves the caller up; a reconfigure re-plans it).
  for (const { id, at: expected, index } of predictions) {
    if (ops.slice(index + 1).some((o) => o.kind === 'abort' || o.kind === 'reconfigure')) continue;
    expect(log, `waitTime() predicted #${id} at ${expected}`).toContain(`${expected} granted #${id}`);
  }
  return log;
}

describe('lazy and timer buckets with several limits and reconfigure() are observably identical', () => {
  it('grant the same callers at the same instants, and waitTime() predicts the real grant (differential property)', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, ops }) => {
        const lazy = await run((clock) => new LazyTokenBucketFilter({ ...options, clock }), ops);
        const timer = await run((clock) => new TimerTokenBucketFilter({ ...options, clock }).start(), ops);
        expect(timer).toEqual(lazy);
        expect(lazy.at(-1)).toBe('timers=0');
      }),
      { numRuns: 300 },
    );
  });
});
