import { Redis } from 'ioredis';
import { Redis as Valkey } from 'iovalkey';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  RedisKeyedTokenBucketFilter,
  RedisTokenBucketFilter,
  scriptRunner,
  type RedisClientLike,
  type RedisScriptRunner,
} from '../src/redis/index.js';
import { clientKinds, connect, type ClientKind, type TestClient } from './redis/clients.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { createFakeClock, track, type FakeClock } from './support/clock.js';

// The pause notices on one real Redis, with client time driven by a fake clock: a subscription
// confirmed after a pause (the notice missed) is followed by one check; a message on the channel that
// is not the script's is ignored; the duplicate connection is shared by a client's buckets and closed
// with the last one's sleepers. test/redis.pause.multiprocess.test.ts covers other processes.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.pauseNotices.test.ts', target.skip);

/** A client of `kind` named `name` (its duplicates carry the name too), connected. */
async function named(kind: ClientKind, url: string, name: string): Promise<{ client: RedisClientLike; close(): void }> {
  if (kind === 'node-redis') {
    const client = createClient({ url, name, disableOfflineQueue: true });
    client.on('error', () => undefined);
    await client.connect();
    return { client, close: () => client.destroy() };
  }
  const settings = { connectionName: name, enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true };
  const client = kind === 'ioredis' ? new Redis(url, settings) : new Valkey(url, settings);
  client.on('error', () => undefined);
  await client.connect();
  return { client, close: () => client.disconnect() };
}

/** A runner of `client` whose subscription is confirmed only at `confirm()`, dropping the messages before. */
function lateConfirming(client: RedisClientLike) {
  const inner = scriptRunner(client);
  let open = false;
  const waiting: Array<() => void> = [];
  const state = { subscribed: 0, dropped: 0 };
  const runner: RedisScriptRunner & { confirm(): void; state: typeof state } = {
    evalsha: (sha, keys, args) => inner.evalsha(sha, keys, args),
    eval: (script, keys, args) => inner.eval(script, keys, args),
    subscribe: (channel, message, live) => {
      state.subscribed += 1;
      return (inner.subscribe as NonNullable<RedisScriptRunner['subscribe']>)(
        channel,
        (text) => {
          if (open) message(text);
          else state.dropped += 1;
        },
        (confirmed) => {
          if (!confirmed || open) live(confirmed);
          else waiting.push(() => live(true));
        },
      );
    },
    confirm: () => {
      open = true;
      for (const confirmed of waiting.splice(0)) confirmed();
    },
    state,
  };
  return runner;
}

/** A runner of `client` (pause notices included) that counts its script calls. */
function counting(client: RedisClientLike) {
  const inner = scriptRunner(client);
  const runner = {
    calls: 0,
    evalsha: (sha: string, keys: readonly string[], args: readonly string[]) => {
      runner.calls += 1;
      return inner.evalsha(sha, keys, args);
    },
    eval: (script: string, keys: readonly string[], args: readonly string[]) => {
      runner.calls += 1;
      return inner.eval(script, keys, args);
    },
    subscribe: (channel: string, message: (text: string) => void, live: (confirmed: boolean) => void) =>
      (inner.subscribe as NonNullable<RedisScriptRunner['subscribe']>)(channel, message, live),
  };
  return runner;
}

describe.skipIf('skip' in target)('Redis buckets: pause notices', () => {
  let admin: TestClient | undefined;
  beforeAll(async () => {
    if (!('skip' in target)) admin = await connect('ioredis', target.url);
  });
  afterAll(async () => {
    await admin?.close();
    if (!('skip' in target)) await target.stop();
  });
  const url = (): string => ('skip' in target ? '' : target.url);
  let run = 0;
  const prefix = `tbf-notices:${process.pid}:${Date.now()}:`;
  const bucket = (client: RedisClientLike, clock: FakeClock, key: string, options: object = {}) =>
    new RedisTokenBucketFilter({
      client,
      key,
      prefix,
      capacity: 1,
      refillInterval: 1000,
      timeSource: 'client',
      clock,
      redisTimeout: 5000,
      ...options,
    });
  /** How many connections named `name` the server has. */
  const connections = async (name: string): Promise<number> => {
    const list = String(await (admin as TestClient).command('CLIENT', 'LIST'));
    return list.split('\n').filter((line) => line.includes(` name=${name} `)).length;
  };

  describe.each(clientKinds)('%s', (kind) => {
    it('a pause published before the subscription was confirmed is found by one check after it', async () => {
      const clock = createFakeClock();
      const key = `window-${kind}-${(run += 1)}`;
      const pauser = await named(kind, url(), `tbf-pauser-${process.pid}-${run}`);
      const sleeping = await named(kind, url(), `tbf-sleeper-${process.pid}-${run}`);
      const late = lateConfirming(sleeping.client);
      const a = bucket(pauser.client, clock, key);
      const b = bucket(late, clock, key);
      expect(await a.tryGetToken()).toBe(true);
      const sleeper = track(b.getToken(), clock); // reserved until 1000
      await vi.waitFor(() => {
        expect(late.state.subscribed).toBe(1);
      });
      await clock.tickAsync(100);
      await a.pause(1500); // until 1600: its notice reaches b before b's subscription is confirmed
      await vi.waitFor(() => {
        expect(late.state.dropped).toBe(1);
      });
      late.confirm();
      await b.idle(); // the check after the confirmation
      await clock.tickAsync(900);
      await b.idle();
      expect(sleeper.state, 'at its old instant, inside the pause').toBe('pending');
      await clock.tickAsync(600);
      await b.idle();
      expect(sleeper).toMatchObject({ state: 'granted', at: 1600 });
      a.close();
      b.close();
      pauser.close();
      sleeping.close();
    });

    it('a message on the channel that is not a notice is ignored: no script call, granted as planned', async () => {
      const clock = createFakeClock();
      const key = `foreign-${kind}-${(run += 1)}`;
      const client = await named(kind, url(), `tbf-foreign-${process.pid}-${run}`);
      const runner = counting(client.client);
      const b = bucket(runner, clock, key);
      expect(await b.tryGetToken()).toBe(true);
      const sleeper = track(b.getToken(), clock); // reserved until 1000
      await b.idle(); // subscribed, and checked once
      const calls = runner.calls;
      expect(calls, 'the try, the take, the check after the subscription').toBe(3);
      const channel = `${prefix}{${key}}:pause`;
      for (const text of ['hello', '1 2 3', '', 'NaN 5', '1 -5', '1 99999999999999999', '5e 5']) {
        await (admin as TestClient).command('PUBLISH', channel, text);
      }
      await (admin as TestClient).command('PING'); // the messages were sent before this reply
      await new Promise((resolve) => setTimeout(resolve, 50)); // and delivered on the other connection
      await b.idle();
      expect(runner.calls, 'no check for a foreign message').toBe(calls);
      await clock.tickAsync(1000);
      await b.idle();
      expect(sleeper).toMatchObject({ state: 'granted', at: 1000 });
      b.close();
      client.close();
    });

    it('keyed: a sleeper of another store, reserved before the key’s first pause, is re-planned behind it', async () => {
      const clock = createFakeClock();
      const client = await named(kind, url(), `tbf-keyed-${process.pid}-${(run += 1)}`);
      const runner = counting(client.client);
      const keyed = (over: RedisClientLike) =>
        new RedisKeyedTokenBucketFilter({
          client: over,
          prefix: `${prefix}keyed-${run}:`,
          capacity: 1,
          refillInterval: 1000,
          timeSource: 'client',
          clock,
          redisTimeout: 5000,
        });
      const a = keyed((admin as TestClient).client);
      const b = keyed(runner);
      expect(await b.tryGetToken('x')).toBe(true);
      const sleeper = track(b.getToken('x'), clock); // reserved until 1000
      const other = track(b.getToken('y'), clock); // another key: granted at once
      await b.idle();
      const calls = runner.calls;
      await clock.tickAsync(100);
      await a.pause('x', 1500); // until 1600
      await vi.waitFor(() => {
        expect(runner.calls, 'the check the notice sent').toBe(calls + 1);
      });
      await b.idle();
      await clock.tickAsync(900);
      await b.idle();
      expect(sleeper.state, 'at its old instant, inside the pause').toBe('pending');
      expect(other).toMatchObject({ state: 'granted', at: 0 });
      await clock.tickAsync(600);
      await b.idle();
      expect(sleeper).toMatchObject({ state: 'granted', at: 1600 });
      a.close();
      b.close();
      client.close();
    });

    it('a pause while the subscriber is disconnected is found by the check once it is back', async () => {
      const clock = createFakeClock();
      const key = `lost-${kind}-${(run += 1)}`;
      const name = `tbf-lost-${process.pid}-${run}`;
      const client = await named(kind, url(), name);
      const a = bucket((admin as TestClient).client, clock, key);
      const b = bucket(client.client, clock, key);
      expect(await b.tryGetToken()).toBe(true);
      const sleeper = track(b.getToken(), clock); // reserved until 1000
      await b.idle();
      const subscriber = async (): Promise<string | undefined> => {
        const list = String(await (admin as TestClient).command('CLIENT', 'LIST'));
        const line = list.split('\n').find((entry) => entry.includes(` name=${name} `) && / sub=1 /.test(entry));
        return /^id=(\d+) /.exec(line ?? '')?.[1];
      };
      const id = await subscriber();
      expect(id, 'the subscribed duplicate').toBeDefined();
      await (admin as TestClient).command('CLIENT', 'KILL', 'ID', id as string);
      await clock.tickAsync(100);
      await a.pause(1500); // until 1600, published while b's subscriber is away (or reconnecting)
      await vi.waitFor(async () => {
        const back = await subscriber();
        expect(back !== undefined && back !== id).toBe(true);
      });
      await b.idle();
      await vi.waitFor(async () => {
        await b.idle();
        await clock.tickAsync(0);
        expect(b.pending).toBe(1);
      });
      await clock.tickAsync(900);
      await b.idle();
      expect(sleeper.state, 'at its old instant, inside the pause').toBe('pending');
      await clock.tickAsync(600);
      await b.idle();
      expect(sleeper).toMatchObject({ state: 'granted', at: 1600 });
      a.close();
      b.close();
      client.close();
    });

    it('a subscription that fails changes nothing: idle() does not wait for it, the sleeper is granted as planned', async () => {
      const clock = createFakeClock();
      const client = await named(kind, url(), `tbf-failed-${process.pid}-${(run += 1)}`);
      const inner = scriptRunner(client.client);
      const unsubscribed = { count: 0 };
      const refused: RedisScriptRunner = {
        evalsha: (sha, keys, args) => inner.evalsha(sha, keys, args),
        eval: (script, keys, args) => inner.eval(script, keys, args),
        subscribe: (_channel, _message, live) => {
          queueMicrotask(() => {
            live(false); // never confirmed: the connection could not subscribe
          });
          return () => (unsubscribed.count += 1);
        },
      };
      const b = bucket(refused, clock, `failed-${run}`);
      expect(await b.tryGetToken()).toBe(true);
      const sleeper = track(b.getToken(), clock); // reserved until 1000
      const started = performance.now();
      await b.idle();
      expect(performance.now() - started, 'idle() waited for no confirmation').toBeLessThan(1000);
      await clock.tickAsync(1000);
      await b.idle();
      expect(sleeper).toMatchObject({ state: 'granted', at: 1000 });
      await vi.waitFor(() => {
        expect(unsubscribed.count, 'left once no caller is pending').toBe(1);
      });
      b.close();
      client.close();
    });

    it('a notice heard while a give-back is in flight waits for it: one rewrite at a time, no token taken twice', async () => {
      const clock = createFakeClock();
      const key = `race-${kind}-${(run += 1)}`;
      const client = await named(kind, url(), `tbf-race-${process.pid}-${run}`);
      const inner = scriptRunner(client.client);
      const seen = { inFlight: 0, most: 0, delay: 0 };
      /** The replies of rewrites (replay, reconfigure, re-assert, pause or check) are held `seen.delay` ms, real time. */
      const watched = async (send: () => Promise<unknown>, args: readonly string[]) => {
        if (!['2', '3', '4', '5'].includes(args[0] ?? '')) return send();
        seen.inFlight += 1;
        seen.most = Math.max(seen.most, seen.inFlight);
        try {
          const reply = await send();
          if (seen.delay > 0) await new Promise((resolve) => setTimeout(resolve, seen.delay));
          return reply;
        } finally {
          seen.inFlight -= 1;
        }
      };
      const runner: RedisScriptRunner = {
        evalsha: (sha, keys, args) => watched(() => inner.evalsha(sha, keys, args), args),
        eval: (script, keys, args) => watched(() => inner.eval(script, keys, args), args),
        subscribe: (channel, message, live) =>
          (inner.subscribe as NonNullable<RedisScriptRunner['subscribe']>)(channel, message, live),
      };
      const a = bucket((admin as TestClient).client, clock, key);
      const b = bucket(runner, clock, key);
      expect(await b.tryGetToken()).toBe(true);
      const aborted = new AbortController();
      const first = track(b.getToken(), clock); // until 1000
      const gone = track(b.getToken(1, { signal: aborted.signal }), clock); // until 2000
      const last = track(b.getToken(), clock); // until 3000, then 2000 once the one before goes back
      await b.idle();
      seen.delay = 200;
      aborted.abort(new Error('gone'));
      await new Promise((resolve) => setTimeout(resolve, 50)); // the give-back ran in Redis, its reply held
      await a.pause(500); // until 500: its notice comes while the give-back's reply is held
      await vi.waitFor(
        async () => {
          await b.idle();
          expect(seen.inFlight).toBe(0);
          expect(seen.most).toBeGreaterThan(0);
        },
        { timeout: 3000 },
      );
      await new Promise((resolve) => setTimeout(resolve, 300)); // the check, if the notice was heard late
      await b.idle();
      expect(seen.most, 'rewrites in flight at once').toBe(1);
      expect(gone.state).toBe('rejected');
      for (const ms of [1000, 2000, 3000]) {
        await clock.tickAsync(ms - clock.performance.now());
        await b.idle();
      }
      // The give-back moved the last caller up to 2000; then the check found the pause and re-decided
      // both after the pause, on the tail as it was: the first one's reservation (1000), no longer
      // right below the re-made one, cannot go back, so it stays unused (fewer tokens, never more).
      expect([first.at, last.at]).toEqual([2000, 3000]);
      // Nothing else holds a token: the next one comes at 4000.
      expect(await a.waitTime()).toBe(1000);
      a.close();
      b.close();
      client.close();
    });

    it('one duplicate connection for every bucket of a client, closed with the last sleeper, or at close()', async () => {
      const clock = createFakeClock();
      const name = `tbf-dup-${process.pid}-${(run += 1)}`;
      const client = await named(kind, url(), name);
      const first = bucket(client.client, clock, `dup-a-${run}`);
      const second = bucket(client.client, clock, `dup-b-${run}`);
      expect(await connections(name)).toBe(1);
      await first.tryGetToken();
      await second.tryGetToken();
      const granted = track(first.getToken(), clock); // sleeps until 1000: subscribes
      const closed = track(second.getToken(), clock); // sleeps too: the same connection
      await first.idle();
      await second.idle();
      expect(await connections(name), 'the client and one duplicate').toBe(2);
      const numsub = async (key: string) =>
        (await (admin as TestClient).command('PUBSUB', 'NUMSUB', `${prefix}{${key}}:pause`)) as [string, number];
      expect((await numsub(`dup-a-${run}`))[1]).toBe(1);
      expect((await numsub(`dup-b-${run}`))[1]).toBe(1);
      second.close(); // its sleeper rejected: its channel left, the connection kept for the other
      await vi.waitFor(async () => {
        expect((await numsub(`dup-b-${run}`))[1]).toBe(0);
      });
      expect(closed.state).toBe('rejected');
      expect(await connections(name)).toBe(2);
      await clock.tickAsync(1000);
      await first.idle();
      expect(granted).toMatchObject({ state: 'granted', at: 1000 });
      // No sleeper left: the duplicate closes, though the bucket stays open.
      await vi.waitFor(async () => {
        expect(await connections(name)).toBe(1);
      });
      expect((await numsub(`dup-a-${run}`))[1]).toBe(0);
      // Sleepers again, then close(): closed at once.
      const again = track(first.getToken(), clock);
      await first.idle();
      expect(await connections(name)).toBe(2);
      first.close();
      await vi.waitFor(async () => {
        expect(await connections(name)).toBe(1);
      });
      expect(again.state).toBe('rejected');
      client.close();
    });
  });
});
