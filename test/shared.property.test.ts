import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { SharedTokenBucketFilter } from '../src/shared/SharedTokenBucketFilter.js';
import type { TokenBucketFilter } from '../src/TokenBucketFilter.js';
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

const bucketOptions = fc
  .record({
    capacity: fc.integer({ min: 1, max: 6 }),
    refillTokens: fc.integer({ min: 1, max: 4 }),
    refillInterval: fc.integer({ min: 1, max: 400 }),
    initial: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((options) => ({
    capacity: options.capacity,
    refillTokens: options.refillTokens,
    refillInterval: options.refillInterval,
    initialTokens: Math.floor(options.initial * options.capacity),
  }));

/**
 * Runs `ops` against one bucket and returns everything observable, each entry stamped with the time.
 * `create` may return several instances of one bucket (threads): op `i` goes to instance `i % n`.
 */
async function run(create: (clock: FakeClock) => TokenBucketFilter[], ops: Op[]): Promise<string[]> {
  const clock = createFakeClock();
  const instances = create(clock);
  const first = instances[0] as TokenBucketFilter;
  const log: string[] = [];
  const controllers: AbortController[] = [];
  let caller = 0;
  const observe = (label: string) =>
    log.push(`${clock.performance.now()} ${label} available=${first.available} pending=${first.pending}`);
  for (const [index, step] of ops.entries()) {
    const bucket = instances[index % instances.length] as TokenBucketFilter;
    switch (step.kind) {
      case 'get': {
        const id = caller++;
        const controller = new AbortController();
        if (step.abortable) controllers.push(controller);
        bucket
          .getToken(step.count, { signal: step.abortable ? controller.signal : undefined, maxWait: step.maxWait })
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
  first.close();
  await flushPromises();
  log.push(`timers=${clock.countTimers()}`);
  return log;
}

describe('SharedTokenBucketFilter in one thread', () => {
  it('is observably identical to the lazy bucket for any sequence of calls, aborts included (differential property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucketOptions.chain((options) =>
          fc.record({
            options: fc.constant(options),
            ops: fc.array(op(options.capacity), { maxLength: 60, size: 'max' }),
          }),
        ),
        async ({ options, ops }) => {
          const lazy = await run((clock) => [new LazyTokenBucketFilter({ ...options, clock })], ops);
          const shared = await run((clock) => [new SharedTokenBucketFilter({ ...options, clock })], ops);
          expect(shared).toEqual(lazy);
        },
      ),
      { numRuns: 200 },
    );
  });
});

/** `log` with each run of settlements at one instant sorted (threads wake in their own order). */
function sameInstantSorted(log: readonly string[]): string[] {
  const result: string[] = [];
  let run: string[] = [];
  const flush = () => {
    result.push(...run.sort());
    run = [];
  };
  for (const line of log) {
    const settled = /^(\S+) (granted|rejected) /.exec(line);
    if (settled === null || (run.length > 0 && !run[0]?.startsWith(`${settled[1]} `))) flush();
    if (settled === null) result.push(line);
    else run.push(line);
  }
  flush();
  return result;
}

/** Three instances on one buffer with one clock: three threads that take turns, as the lock makes them. */
const threeThreads = (options: object) => (clock: FakeClock) => {
  const bucket = new SharedTokenBucketFilter({ ...(options as { capacity: number }), clock });
  return [
    bucket,
    SharedTokenBucketFilter.from(bucket.handle, { clock }),
    SharedTokenBucketFilter.from(bucket.handle, { clock }),
  ];
};

describe('SharedTokenBucketFilter across simulated threads (instances on one buffer taking turns)', () => {
  it('is observably identical to one lazy bucket when no caller aborts: order of arrival at the state, across threads', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucketOptions.chain((options) =>
          fc.record({
            options: fc.constant(options),
            ops: fc.array(op(options.capacity), { maxLength: 60, size: 'max' }),
          }),
        ),
        async ({ options, ops }) => {
          const calm = ops.filter((step) => step.kind !== 'abort');
          const lazy = await run((clock) => [new LazyTokenBucketFilter({ ...options, clock })], calm);
          const shared = await run(threeThreads(options), calm);
          // Callers of different threads granted at one instant settle in the order their threads wake.
          expect(sameInstantSorted(shared)).toEqual(sameInstantSorted(lazy));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('never grants more than the schedule allows, aborts in any thread included', async () => {
    await fc.assert(
      fc.asyncProperty(
        bucketOptions.chain((options) =>
          fc.record({
            options: fc.constant(options),
            ops: fc.array(op(options.capacity), { maxLength: 80, size: 'max' }),
          }),
        ),
        async ({ options, ops }) => {
          const log = await run(threeThreads(options), ops);
          // Every grant, with its instant: tryGetToken() successes and getToken() grants.
          const grants: Array<[at: number, tokens: number]> = [];
          let caller = 0;
          const callerCounts: number[] = [];
          for (const step of ops) if (step.kind === 'get') callerCounts[caller++] = step.count;
          for (const line of log) {
            const tried = /^(\S+) try\((\d+)\)=true/.exec(line);
            if (tried !== null) grants.push([Number(tried[1]), Number(tried[2])]);
            const granted = /^(\S+) granted #(\d+)/.exec(line);
            if (granted !== null) grants.push([Number(granted[1]), callerCounts[Number(granted[2])] as number]);
          }
          const step = (at: number) => Math.floor(at / options.refillInterval);
          grants.sort((a, b) => a[0] - b[0]);
          for (let a = 0; a < grants.length; a += 1) {
            let total = 0;
            for (let b = a; b < grants.length; b += 1) {
              const [from] = grants[a] as [number, number];
              const [to, tokens] = grants[b] as [number, number];
              total += tokens;
              // Within [from, to]: at most a full bucket plus the steps after `from`.
              expect(total, `tokens granted in ${from}..${to} ms`).toBeLessThanOrEqual(
                options.capacity + (step(to) - step(from)) * options.refillTokens,
              );
            }
          }
          // And since creation: the initial tokens plus every step.
          let sum = 0;
          for (const [at, tokens] of grants) {
            sum += tokens;
            expect(sum, `tokens granted by ${at} ms`).toBeLessThanOrEqual(
              options.initialTokens + step(at) * options.refillTokens,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
