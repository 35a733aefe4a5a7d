import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MaxWaitExceededError } from '../src/errors.js';
import { RedisKeyedTokenBucketFilter, RedisTokenBucketFilter } from '../src/redis/index.js';
import { PAUSED_GEN } from '../src/redis/protocol.js';
import { BUCKET_SCRIPT } from '../src/redis/script.js';
import { connect, describeEachClient, type TestClient } from './redis/clients.js';
import { countingRunner } from './redis/counting.js';
import { gatedRunner } from './redis/gated.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, track, type FakeClock } from './support/clock.js';

// pause() on the Redis buckets across instances (each with a client of its own, standing for a process),
// on a real Redis with client time driven by one fake clock, so every instant is exact. The conformance
// pause suite (test/conformance/pauseSuite.ts) covers one instance; test/redis.pause.multiprocess.test.ts
// covers a sleeper in another process, in real time.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.pause.test.ts', target.skip);

describe.skipIf('skip' in target)('Redis buckets: pause() holds for every instance sharing the key', () => {
  let other: TestClient | undefined;
  beforeAll(async () => {
    if (!('skip' in target)) other = await connect('node-redis', target.url);
  });
  afterAll(async () => {
    await other?.close();
    if (!('skip' in target)) await target.stop();
  });

  describeEachClient(
    () => ('skip' in target ? undefined : target.url),
    'tbf-pause',
    ({ connection, prefix, key }) => {
      const common = (clock: FakeClock) => ({ prefix, timeSource: 'client' as const, clock, redisTimeout: 5000 });
      /** Two instances on one key, through two clients: `a` on the suite's, `b` on a node-redis one. */
      const pair = (clock: FakeClock, options: object, bOptions: object = {}) => {
        const name = key();
        const a = new RedisTokenBucketFilter({
          client: connection.client,
          key: name,
          ...common(clock),
          ...options,
        } as never);
        const b = new RedisTokenBucketFilter({
          client: (other as TestClient).client,
          key: name,
          ...common(clock),
          ...options,
          ...bOptions,
        } as never);
        return { a, b };
      };
      /** Moves the clock to `ms`, letting every Redis call of `buckets` answer before and after. */
      const at = async (clock: FakeClock, ms: number, ...buckets: { idle(): Promise<void> }[]): Promise<void> => {
        const idle = () => Promise.all(buckets.map((bucket) => bucket.idle()));
        await idle();
        await clock.tickAsync(ms - clock.performance.now());
        await idle();
        await idle(); // a check's reply may send the grant's re-plan
      };

      it('one instance pauses: the other grants nothing until the pause ends, then one refill', async () => {
        const clock = createFakeClock();
        const { a, b } = pair(clock, { capacity: 2, refillInterval: 100 });
        expect(await b.tryGetToken()).toBe(true);
        await a.pause(500);
        expect(await b.tryGetToken(), 'tryGetToken() of the other instance during the pause').toBe(false);
        expect(await b.available()).toBe(0);
        expect(await b.waitTime()).toBe(500);
        const granted = track(b.getToken(), clock);
        await at(clock, 499, a, b);
        expect(granted.state).toBe('pending');
        await at(clock, 500, a, b);
        expect(granted).toMatchObject({ state: 'granted', at: 500 });
        // One refill at the end (1 token, taken by that caller), not a burst of 2.
        expect(await a.tryGetToken()).toBe(false);
        expect(await a.waitTime()).toBe(100);
        a.close();
        b.close();
      });

      it('a sleeper of the other instance (pausable) is re-planned behind the pause, in order, at its instant', async () => {
        const clock = createFakeClock();
        const { a, b } = pair(clock, { capacity: 1, refillInterval: 1000 }, { pausable: true });
        expect(await a.tryGetToken()).toBe(true);
        const first = track(b.getToken(), clock); // due at 1000
        const second = track(b.getToken(), clock); // due at 2000
        await at(clock, 500, a, b);
        await a.pause(2000); // until 2500: one token then, the next at 3000
        expect(await a.tryGetToken()).toBe(false);
        await at(clock, 1000, a, b);
        expect([first.state, second.state], 'at the first sleeper’s old instant').toEqual(['pending', 'pending']);
        await at(clock, 2499, a, b);
        expect([first.state, second.state]).toEqual(['pending', 'pending']);
        for (const ms of [2500, 3000]) await at(clock, ms, a, b);
        expect([first.at, second.at]).toEqual([2500, 3000]);
        expect(b.pending).toBe(0);
        a.close();
        b.close();
      });

      it('a sleeper of the other instance whose grant the pause moves past its maxWait rejects', async () => {
        const clock = createFakeClock();
        const { a, b } = pair(clock, { capacity: 1, refillInterval: 1000 }, { pausable: true });
        expect(await a.tryGetToken()).toBe(true);
        const patient = track(b.getToken(1, { maxWait: 1500 }), clock); // due at 1000
        await at(clock, 200, a, b);
        await a.pause(2000); // until 2200
        await at(clock, 1000, a, b);
        expect(patient.state).toBe('rejected');
        expect(patient.error).toBeInstanceOf(MaxWaitExceededError);
        a.close();
        b.close();
      });

      it('without pausable, a sleeper asks only on a key paused before it reserved', async () => {
        const clock = createFakeClock();
        const { a, b } = pair(clock, { capacity: 1, refillInterval: 1000 });
        expect(await a.tryGetToken()).toBe(true);
        // The key's first pause, ending before the other instance's sleeper is due: it does not ask at
        // its instant (its pause notice may re-plan it, to the same instant), and is granted as planned.
        const early = track(b.getToken(), clock); // due at 1000
        await at(clock, 100, a, b);
        await a.pause(200); // until 300
        await at(clock, 1000, a, b);
        expect(early).toMatchObject({ state: 'granted', at: 1000 });
        // Now the key has been paused: the next sleeper asks at its instant, and a pause holds it.
        const late = track(b.getToken(), clock); // due at 2000
        await at(clock, 1500, a, b);
        await a.pause(1000); // until 2500
        await at(clock, 2000, a, b);
        expect(late.state).toBe('pending');
        await at(clock, 2500, a, b);
        expect(late).toMatchObject({ state: 'granted', at: 2500 });
        a.close();
        b.close();
      });

      it('costs one Redis call per getToken() on a key never paused, and one more per wake with pausable', async () => {
        const clock = createFakeClock();
        const name = key();
        const plain = countingRunner(connection.client);
        const checked = countingRunner(connection.client);
        const open = (client: object, options: object = {}) =>
          new RedisTokenBucketFilter({
            client,
            key: name,
            capacity: 1,
            refillInterval: 100,
            ...common(clock),
            ...options,
          } as never);
        const a = open(plain);
        const b = open(checked, { pausable: true });
        const calls = (runner: typeof plain) => runner.evalshaCalls + runner.evalCalls;
        await a.getToken(); // granted at once
        const sleeping = [track(a.getToken(), clock), track(a.getToken(), clock)];
        await at(clock, 200, a, b);
        expect(sleeping.map((s) => s.state)).toEqual(['granted', 'granted']);
        expect(calls(plain), 'one call per getToken(), sleepers included').toBe(3);
        const checkedSleeper = track(b.getToken(), clock);
        await at(clock, 300, a, b);
        expect(checkedSleeper).toMatchObject({ state: 'granted', at: 300 });
        expect(calls(checked), 'the take, then the check at its instant').toBe(2);
        a.close();
        b.close();
      });

      it.each(['closed', 'open'] as const)(
        'a check at the grant instant that fails rejects with RedisUnavailableError, or grants with failMode %s',
        async (failMode) => {
          const clock = createFakeClock();
          const runner = gatedRunner(connection.client);
          const b = new RedisTokenBucketFilter({
            client: runner,
            key: key(),
            capacity: 1,
            initialTokens: 0,
            refillInterval: 100,
            pausable: true,
            failMode,
            breakerCooldown: 0,
            ...common(clock),
          });
          const sleeper = track(b.getToken(), clock); // due at 100: asks Redis then
          await b.idle();
          runner.failFrom(runner.calls.length, new Error('connection lost'));
          await at(clock, 100, b);
          if (failMode === 'closed') {
            expect(sleeper.state).toBe('rejected');
            expect(sleeper.error).toMatchObject({ name: 'RedisUnavailableError' });
          } else {
            expect(sleeper).toMatchObject({ state: 'granted', at: 100 });
          }
          expect(b.pending).toBe(0);
          b.close();
        },
      );

      it('keyed: pause(key, ms) holds that key for every instance, and the other keys carry on', async () => {
        const clock = createFakeClock();
        const options = { capacity: 1, refillInterval: 100, ...common(clock) };
        const a = new RedisKeyedTokenBucketFilter({ client: connection.client, ...options });
        const b = new RedisKeyedTokenBucketFilter({ client: (other as TestClient).client, ...options });
        const [paused, free] = [key(), key()];
        await a.pause(paused, 1000);
        expect(await b.tryGetToken(paused)).toBe(false);
        expect(await b.waitTime(paused)).toBe(1000);
        expect(await b.tryGetToken(free)).toBe(true);
        await expect(a.pause('', 10)).rejects.toThrow(TypeError);
        await expect(a.pause(paused, -1)).rejects.toThrow(RangeError);
        a.close();
        await expect(a.pause(paused, 10)).rejects.toMatchObject({ name: 'BucketClosedError' });
        b.close();
      });

      it("the script's PAUSED is the client's PAUSED_GEN", () => {
        expect(BUCKET_SCRIPT).toContain(`local PAUSED = ${PAUSED_GEN}\n`);
      });
    },
  );
});
