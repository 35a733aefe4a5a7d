import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter, TimerTokenBucketFilter, type TokenBucketFilter } from '../src/index.js';
import { createFakeClock, flushPromises, type FakeClock } from './support/clock.js';

type Op =
  | { kind: 'get'; count: number; abortable: boolean; maxWait: number | undefined }
  | { kind: 'try'; count: number }
  | { kind: 'wait'; count: number }
  | { kind: 'abort'; index: number }
  | { kind: 'advance'; ms: number };

const op = (capacity: number): fc.Arbitrary<Op> =>
  fc.oneof(
    fc.record({
      kind: fc.constant('get' as const),
      count: fc.integer({ min: 1, max: capacity }),
      abortable: fc.boolean(),
      maxWait: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
    }),
    fc.record({ kind: fc.constant('try' as const), count: fc.integer({ min: 1, max: capacity }) }),
    fc.record({ kind: fc.constant('wait' as const), count: fc.integer({ min: 1, max: capacity }) }),
    fc.record({ kind: fc.constant('abort' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 1500 }) }),
  );

const scenario = fc
  .record({
    capacity: fc.integer({ min: 1, max: 6 }),
    refillTokens: fc.integer({ min: 1, max: 4 }),
    // Whole ms, and fractional ones (7.5, 1/3 …), whose steps fall between the whole-ms timer ticks.
    refillInterval: fc.oneof(
      fc.integer({ min: 1, max: 400 }),
      fc.tuple(fc.integer({ min: 1, max: 1200 }), fc.integer({ min: 2, max: 7 })).map(([n, d]) => n / d),
    ),
    initial: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .chain((options) =>
    fc.record({
      options: fc.constant({
        capacity: options.capacity,
        refillTokens: options.refillTokens,
        refillInterval: options.refillInterval,
        initialTokens: Math.floor(options.initial * options.capacity),
      }),
      ops: fc.array(op(options.capacity), { maxLength: 60 }),
    }),
  );

/** Runs `ops` against one bucket and returns everything observable, each entry stamped with the time. */
async function run(create: (clock: FakeClock) => TokenBucketFilter, ops: Op[]): Promise<string[]> {
  const clock = createFakeClock();
  const bucket = create(clock);
  const log: string[] = [];
  const controllers: AbortController[] = [];
  let caller = 0;
  const observe = (label: string) =>
    log.push(`${clock.performance.now()} ${label} available=${bucket.available} pending=${bucket.pending}`);
  for (const step of ops) {
    switch (step.kind) {
      case 'get': {
        const id = caller++;
        const controller = new AbortController();
        if (step.abortable) controllers.push(controller);
        bucket
          .getToken(step.count, {
            signal: step.abortable ? controller.signal : undefined,
            maxWait: step.maxWait,
          })
          .then(
            () => log.push(`${clock.performance.now()} granted #${id}`),
            (error: unknown) => log.push(`${clock.performance.now()} rejected #${id} ${(error as Error).name}`),
          );
        break;
      }
      case 'try':
        log.push(`${clock.performance.now()} try(${step.count})=${bucket.tryGetToken(step.count)}`);
        break;
      case 'wait':
        log.push(`${clock.performance.now()} waitTime(${step.count})=${bucket.waitTime(step.count)}`);
        break;
      case 'abort':
        if (controllers.length > 0) controllers[step.index % controllers.length]?.abort();
        break;
      case 'advance':
        await clock.tickAsync(step.ms);
        break;
    }
    await flushPromises();
    observe(step.kind);
  }
  await clock.tickAsync(60_000);
  observe('end');
  bucket.close();
  await flushPromises();
  log.push(`timers=${clock.countTimers()}`);
  return log;
}

describe('lazy and timer buckets are observably identical', () => {
  it('grant the same callers at the same instants for any sequence of calls (differential property)', async () => {
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
