import FakeTimers from '@sinonjs/fake-timers';

/**
 * A fake clock from `@sinonjs/fake-timers`, touching no globals; its performance.now() starts at 0.
 * (fake-timers types `performance` as `any`; this names what it is.)
 */
export type FakeClock = Omit<ReturnType<typeof FakeTimers.createClock>, 'performance'> & {
  performance: { now(): number };
};

export function createFakeClock(): FakeClock {
  return FakeTimers.createClock() as FakeClock;
}

/** Records how a promise settled and at which clock reading. */
export interface Outcome {
  state: 'pending' | 'granted' | 'rejected';
  at?: number;
  error?: unknown;
}

/** Watches `promise`, filling in the returned record when it settles. */
export function track(promise: Promise<unknown>, clock: { performance: { now(): number } }): Outcome {
  const outcome: Outcome = { state: 'pending' };
  promise.then(
    () => {
      outcome.state = 'granted';
      outcome.at = clock.performance.now();
    },
    (error: unknown) => {
      outcome.state = 'rejected';
      outcome.at = clock.performance.now();
      outcome.error = error;
    },
  );
  return outcome;
}

/** Lets every already-settled promise callback run. */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await Promise.resolve();
}

/** A timer handle as fake-timers returns it under Node: it can be ref'd and unref'd. */
export interface RefHandle {
  hasRef(): boolean;
}

/** Wraps `clock` so that every handle its setTimeout/setInterval return is recorded, newest last. */
export function recordTimers(clock: FakeClock): { clock: FakeClock; handles: RefHandle[] } {
  const handles: RefHandle[] = [];
  const wrapped = Object.create(clock) as FakeClock;
  const record = <T>(handle: T): T => {
    handles.push(handle as RefHandle);
    return handle;
  };
  wrapped.setTimeout = ((callback: () => void, ms: number) => record(clock.setTimeout(callback, ms))) as never;
  wrapped.setInterval = ((callback: () => void, ms: number) => record(clock.setInterval(callback, ms))) as never;
  return { clock: wrapped, handles };
}

/** A fake clock whose `performance.now()` can be made to return any value, then mended. */
export interface BreakableClock {
  /** The clock to give the bucket (its timers are the fake clock's). */
  readonly clock: FakeClock;
  /** The fake clock itself, to tick and to read the true time. */
  readonly fake: FakeClock;
  /** From now on, `performance.now()` returns `reading`. */
  readonly breakWith: (reading: unknown) => void;
  /** From now on, `performance.now()` tells the fake clock's time again. */
  readonly mend: () => void;
}

/** Returns a {@link BreakableClock} whose valid readings are `offset` ms off the fake time. */
export function breakableClock(offset = 0): BreakableClock {
  const fake = createFakeClock();
  let broken: { reading: unknown } | undefined;
  const clock = Object.create(fake) as FakeClock;
  clock.performance = {
    now: () => (broken === undefined ? fake.performance.now() + offset : (broken.reading as number)),
  };
  return { clock, fake, breakWith: (reading) => (broken = { reading }), mend: () => (broken = undefined) };
}
