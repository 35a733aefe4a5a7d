import { describe, expect, it } from 'vitest';
import { BucketCounters } from '../src/core/counters.js';
import { deferred } from '../src/core/deferred.js';
import { SignalWatch } from '../src/core/SignalWatch.js';
import { WaitingRoom, type WaitPlan } from '../src/core/WaitingRoom.js';
import { Waiter, WaiterExtras } from '../src/core/WaiterQueue.js';
import { createFakeClock, flushPromises, track, type FakeClock } from './support/clock.js';

/** A waiter that carries its own instant, as a reservation of the shared or Redis bucket does. */
class Reserved extends Waiter {
  constructor(
    readonly at: number,
    resolve: () => void,
    extras: WaiterExtras | undefined,
  ) {
    super(1, resolve, extras);
  }
}

interface Harness {
  clock: FakeClock;
  room: WaitingRoom<Reserved>;
  counters: BucketCounters;
  granted: Reserved[];
  droppedBatches: Reserved[][];
  /** Queues a waiter due at `at` (optionally with a signal) and returns how its promise settles. */
  add: (at: number, signal?: AbortSignal) => { waiter: Reserved; outcome: ReturnType<typeof track> };
}

function harness(broken: () => boolean = () => false): Harness {
  const clock = createFakeClock();
  const granted: Reserved[] = [];
  const droppedBatches: Reserved[][] = [];
  const plan: WaitPlan<Reserved> = {
    dueAt: (head) => head.at,
    granting: (head) => granted.push(head),
    dropped: (dropped) => droppedBatches.push([...dropped]),
  };
  const counters = new BucketCounters();
  const room = new WaitingRoom(
    plan,
    { tryNow: () => (broken() ? undefined : clock.performance.now()), clock },
    counters,
  );
  return {
    clock,
    room,
    counters,
    granted,
    droppedBatches,
    add: (at, signal) => {
      const settle = deferred();
      const extras =
        signal === undefined ? undefined : new WaiterExtras(settle.reject, signal, 0, Number.POSITIVE_INFINITY, room);
      const waiter = new Reserved(at, settle.resolve, extras);
      room.watch(waiter);
      room.push(waiter);
      return { waiter, outcome: track(settle.promise, clock) };
    },
  };
}

describe('WaitingRoom', () => {
  it('grants its waiters in FIFO order, each at its instant, with one timer for the head', async () => {
    const { clock, room, add, granted } = harness();
    const first = add(100);
    const second = add(250);
    expect(room.head).toBe(first.waiter);
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(99);
    expect(first.outcome.state).toBe('pending');
    await clock.tickAsync(1);
    expect([first.outcome, second.outcome].map((outcome) => outcome.state)).toEqual(['granted', 'pending']);
    expect(first.outcome.at).toBe(100);
    await clock.tickAsync(150);
    expect(second.outcome).toMatchObject({ state: 'granted', at: 250 });
    expect(granted).toEqual([first.waiter, second.waiter]);
    expect(room.length).toBe(0);
    expect(room.head).toBeUndefined();
    expect(clock.countTimers()).toBe(0);
  });

  it('never grants a waiter before the one ahead of it, even when its own instant is earlier', async () => {
    const { clock, add } = harness();
    const first = add(200);
    const second = add(50);
    await clock.tickAsync(199);
    expect(second.outcome.state).toBe('pending');
    await clock.tickAsync(1);
    expect([first.outcome.at, second.outcome.at]).toEqual([200, 200]);
  });

  it('drops the aborted callers of one signal with one listener, hands them to the plan in order, and moves the rest up', async () => {
    const { clock, room, add, droppedBatches, counters } = harness();
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const addEventListener = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof addEventListener>) => {
      listeners += 1;
      addEventListener(...args);
    }) as typeof addEventListener;
    const a = add(100, signal);
    const b = add(200);
    const c = add(300, signal);
    expect(listeners).toBe(1);
    controller.abort(new Error('stop'));
    await flushPromises();
    expect(a.outcome.error).toEqual(new Error('stop'));
    expect(c.outcome.error).toEqual(new Error('stop'));
    expect(droppedBatches).toEqual([[a.waiter, c.waiter]]);
    expect(room.length).toBe(1);
    expect(counters.snapshot()).toMatchObject({ aborted: 2, pending: 1 });
    await clock.tickAsync(200);
    expect(b.outcome).toMatchObject({ state: 'granted', at: 200 });
  });

  it('holds a call whose instant is not known yet: counted, aborted, closed, then released and queued', async () => {
    const { clock, room, counters } = harness();
    const settle = deferred();
    const held = new Reserved(10, settle.resolve, undefined);
    const outcome = track(settle.promise, clock);
    expect(room.release(held)).toBe(false); // nothing was ever held
    room.hold(held);
    expect(counters.snapshot().pending).toBe(1);
    expect(room.length).toBe(1);
    expect(room.queued).toBe(0);
    expect(room.release(held)).toBe(true);
    expect(room.length).toBe(0);
    expect(counters.snapshot().pending).toBe(0);
    expect(room.release(held)).toBe(false);
    expect(room.length).toBe(0);
    room.push(held);
    await clock.tickAsync(10);
    expect(outcome).toMatchObject({ state: 'granted', at: 10 });

    const again = deferred();
    const second = new Reserved(Number.POSITIVE_INFINITY, again.resolve, undefined);
    const secondOutcome = track(again.promise, clock);
    room.hold(second);
    const closed = room.close(new Error('closed'));
    expect(closed).toEqual([second]);
    await flushPromises();
    expect(secondOutcome).toMatchObject({ state: 'rejected', error: new Error('closed') });
    expect(room.length).toBe(0);
  });

  it('grantHeld resolves a released call that never queued', async () => {
    const { clock, room } = harness();
    const settle = deferred();
    const call = new Reserved(0, settle.resolve, undefined);
    const outcome = track(settle.promise, clock);
    room.hold(call);
    room.release(call);
    room.grantHeld(call);
    await flushPromises();
    expect(outcome.state).toBe('granted');
  });

  it('close() rejects every queued waiter head first, stops the timer and counts them', async () => {
    const { clock, room, add, counters } = harness();
    const waiters = [add(100), add(200)];
    expect(room.close(new Error('closed'))).toEqual(waiters.map(({ waiter }) => waiter));
    await flushPromises();
    expect(waiters.map(({ outcome }) => outcome.state)).toEqual(['rejected', 'rejected']);
    expect(clock.countTimers()).toBe(0);
    expect(counters.snapshot()).toMatchObject({ closed: 2, pending: 0 });
  });

  it('refuse() rejects one waiter and re-arms for the new head', async () => {
    const { clock, room, add, counters } = harness();
    const first = add(100);
    const second = add(50); // due earlier, held back by the first until it is refused
    room.refuse(first.waiter, new RangeError('too many'));
    expect(counters.snapshot().pending).toBe(1);
    await clock.tickAsync(50);
    expect(first.outcome.error).toBeInstanceOf(RangeError);
    expect(second.outcome).toMatchObject({ state: 'granted', at: 50 });
  });

  it('an abort of a held call takes it out of the held ones only: the queue is untouched', async () => {
    const { clock, room, add, counters, droppedBatches } = harness();
    const controller = new AbortController();
    const settle = deferred();
    const extras = new WaiterExtras(settle.reject, controller.signal, 0, Number.POSITIVE_INFINITY, room);
    const held = new Reserved(0, settle.resolve, extras);
    const heldOutcome = track(settle.promise, clock);
    room.watch(held);
    room.hold(held);
    const queued = [add(10), add(20)];
    controller.abort(new Error('gone'));
    await flushPromises();
    expect(heldOutcome).toMatchObject({ state: 'rejected', error: new Error('gone') });
    expect(droppedBatches).toEqual([[held]]);
    expect([room.length, room.queued]).toEqual([2, 2]);
    expect(counters.snapshot()).toMatchObject({ aborted: 1, pending: 2 });
    await clock.tickAsync(20);
    expect(queued.map(({ outcome }) => outcome.at)).toEqual([10, 20]);
    expect(room.release(held)).toBe(false);
  });

  it('on invalid readings grants nothing and looks again after 1 ms, 2 ms, 4 ms…; then grants at once', async () => {
    let broken = false;
    const { clock, add } = harness(() => broken);
    const waiter = add(10);
    broken = true;
    await clock.tickAsync(10); // the head's timer wakes on an invalid reading
    expect(waiter.outcome.state).toBe('pending');
    expect(clock.countTimers()).toBe(1);
    await clock.tickAsync(1 + 2 + 4);
    expect(waiter.outcome.state).toBe('pending');
    broken = false;
    await clock.tickAsync(8);
    expect(waiter.outcome).toMatchObject({ state: 'granted', at: 25 });
  });

  it('a head whose signal reports aborted before its listener ran leaves as aborted, taking nothing', async () => {
    const { clock, add, granted, droppedBatches, counters } = harness();
    const fakeSignal = {
      aborted: false,
      reason: new Error('gone'),
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
    };
    const first = add(10, fakeSignal as unknown as AbortSignal);
    const second = add(10);
    fakeSignal.aborted = true;
    await clock.tickAsync(10);
    expect(first.outcome).toMatchObject({ state: 'rejected', error: new Error('gone') });
    expect(second.outcome.state).toBe('granted');
    expect(granted).toEqual([second.waiter]);
    expect(droppedBatches).toEqual([[first.waiter]]);
    expect(counters.snapshot()).toMatchObject({ aborted: 1, pending: 0 });
  });

  it('shares a SignalWatch between rooms: one listener for the callers of every room', () => {
    const clock = createFakeClock();
    const signals = new SignalWatch();
    const plan: WaitPlan<Reserved> = { dueAt: (head) => head.at, granting: () => undefined, dropped: () => undefined };
    const rooms = [0, 1].map(
      () => new WaitingRoom(plan, { tryNow: () => clock.performance.now(), clock }, new BucketCounters(), { signals }),
    );
    const controller = new AbortController();
    let listeners = 0;
    const signal = controller.signal;
    const original = signal.addEventListener.bind(signal);
    signal.addEventListener = ((...args: Parameters<typeof original>) => {
      listeners += 1;
      original(...args);
    }) as typeof original;
    for (const room of rooms) {
      const settle = deferred();
      settle.promise.catch(() => undefined);
      const waiter = new Reserved(100, settle.resolve, new WaiterExtras(settle.reject, signal, 0, Infinity, room));
      room.watch(waiter);
      room.push(waiter);
    }
    expect(listeners).toBe(1);
    controller.abort();
    expect(rooms.map((room) => room.length)).toEqual([0, 0]);
  });
});

/**
 * A room on a fake clock whose one-shot timers are recorded as "set <delay>" and "cleared", so that a
 * test sees exactly when the room arms, re-arms and stops its head timer.
 */
function recordedRoom(): {
  clock: FakeClock;
  room: WaitingRoom<Reserved>;
  timers: string[];
  add: (at: number) => { waiter: Reserved; outcome: ReturnType<typeof track> };
} {
  const clock = createFakeClock();
  const timers: string[] = [];
  const recorded = Object.create(clock) as FakeClock;
  recorded.setTimeout = ((callback: () => void, ms: number) => {
    timers.push(`set ${ms}`);
    return clock.setTimeout(callback, ms);
  }) as never;
  recorded.clearTimeout = ((handle: never) => {
    timers.push('cleared');
    clock.clearTimeout(handle);
  }) as never;
  const plan: WaitPlan<Reserved> = { dueAt: (head) => head.at, granting: () => undefined, dropped: () => undefined };
  const room = new WaitingRoom(plan, { tryNow: () => clock.performance.now(), clock: recorded }, new BucketCounters());
  return {
    clock,
    room,
    timers,
    add: (at) => {
      const settle = deferred();
      const waiter = new Reserved(at, settle.resolve, undefined);
      room.push(waiter);
      return { waiter, outcome: track(settle.promise, clock) };
    },
  };
}

describe('WaitingRoom: one timer, for the head, set at its exact wait', () => {
  it("callers queued behind the head set no timer; the head's is set once, for its wait", async () => {
    const { clock, timers, add } = recordedRoom();
    await clock.tickAsync(30);
    add(130);
    add(150);
    add(160);
    expect(timers).toEqual(['set 100']);
  });

  it('a drain that grants nobody leaves the timer alone; one that grants the head re-arms for the next', async () => {
    const { clock, room, timers, add } = recordedRoom();
    const first = add(100);
    add(250);
    room.drain(40); // nobody due
    expect(timers).toEqual(['set 100']);
    await clock.tickAsync(100);
    expect(first.outcome.state).toBe('granted');
    expect(timers).toEqual(['set 100', 'set 150']); // the fired timer needs no clearing
  });

  it('refusing a caller behind the head leaves the timer alone; refusing the head re-arms', () => {
    const { room, timers, add } = recordedRoom();
    const first = add(100);
    const second = add(200);
    const third = add(300);
    room.refuse(second.waiter, new Error('no'));
    expect(timers).toEqual(['set 100']);
    room.refuse(first.waiter, new Error('no'));
    expect(timers).toEqual(['set 100', 'cleared', 'set 300']);
    expect(room.head).toBe(third.waiter);
  });

  it('a head due at Infinity sets no timer until told otherwise', () => {
    const { room, timers, add } = recordedRoom();
    const head = add(Number.POSITIVE_INFINITY);
    expect(timers).toEqual([]);
    room.refuse(head.waiter, new Error('no'));
    expect(room.length).toBe(0);
  });

  it('after close() nothing arms a timer: a late push (a Redis reply) or a re-arm sets none', () => {
    const { room, timers, add } = recordedRoom();
    room.close(new Error('closed'));
    add(100);
    room.rearm();
    expect(timers).toEqual([]);
  });
});

/** A signal-like whose listeners the test fires itself; `removeEventListener` may throw. */
function scriptedSignal(options: { removeThrows?: boolean } = {}) {
  const listeners = new Set<() => void>();
  const state: { aborted: boolean; reason: () => unknown } = { aborted: false, reason: () => undefined };
  const signal = {
    get aborted() {
      return state.aborted;
    },
    get reason() {
      return state.reason();
    },
    addEventListener: (_type: string, listener: () => void) => listeners.add(listener),
    removeEventListener: (_type: string, listener: () => void) => {
      if (options.removeThrows === true) throw new Error('removeEventListener failed');
      listeners.delete(listener);
    },
  };
  return { signal: signal as unknown as AbortSignal, listeners, state };
}

describe('SignalWatch with hostile signal-likes', () => {
  function waiterOn(room: WaitingRoom<Reserved>, signal: AbortSignal, at = 100) {
    const settle = deferred();
    const waiter = new Reserved(at, settle.resolve, new WaiterExtras(settle.reject, signal, 0, Infinity, room));
    return { waiter, promise: settle.promise };
  }

  it('an abort whose reason getter throws rejects its callers with what the getter threw', async () => {
    const { room } = harness();
    const { signal, listeners, state } = scriptedSignal();
    const { waiter, promise } = waiterOn(room, signal);
    room.watch(waiter);
    room.push(waiter);
    const boom = new Error('no reason for you');
    state.aborted = true;
    state.reason = () => {
      throw boom;
    };
    for (const listener of listeners) listener();
    await expect(promise).rejects.toBe(boom);
    expect(room.length).toBe(0);
  });

  it("a due head whose signal's aborted getter throws leaves as aborted with what it threw", async () => {
    const { clock, room, granted } = harness();
    const { signal, state } = scriptedSignal();
    const { waiter, promise } = waiterOn(room, signal, 10);
    room.watch(waiter);
    room.push(waiter);
    const boom = new Error('aborted? who knows');
    Object.defineProperty(signal, 'aborted', {
      get() {
        throw boom;
      },
    });
    state.aborted = true;
    const settled = promise.catch((error: unknown) => error);
    await clock.tickAsync(10);
    expect(await settled).toBe(boom);
    expect(granted).toEqual([]);
  });

  it('a listener left behind by a throwing removeEventListener finds nothing to abort later', async () => {
    const { clock, room } = harness();
    const { signal, listeners, state } = scriptedSignal({ removeThrows: true });
    const { waiter, promise } = waiterOn(room, signal, 10);
    room.watch(waiter);
    room.push(waiter);
    await clock.tickAsync(10);
    await promise; // granted: the signal is forgotten, but its listener could not be removed
    expect(listeners.size).toBe(1);
    state.aborted = true;
    for (const listener of listeners) expect(() => listener()).not.toThrow();
    expect(room.length).toBe(0);
  });

  it('forgetting a waiter whose signal is not watched (never, or no longer) changes nothing', () => {
    const { room } = harness();
    const { signal, listeners } = scriptedSignal();
    const watch = new SignalWatch();
    const { waiter } = waiterOn(room, signal);
    expect(() => watch.forget(waiter)).not.toThrow();
    watch.watch(waiter, signal);
    watch.forget(waiter);
    expect(listeners.size).toBe(0);
    expect(() => watch.forget(waiter)).not.toThrow();
  });
});
