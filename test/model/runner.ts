import { getEventListeners } from 'node:events';
import { isDeepStrictEqual } from 'node:util';
import type { GetTokenOptions, ReconfigureOptions, TokenBucketStats } from '../../src/index.js';
import { createFakeClock, type FakeClock } from '../support/clock.js';
import { BadReadingClock } from './badClock.js';
import { ceilMs, exact, tolerance, toNumber, type Exact } from './exact.js';
import type { ModelKind, ModelTarget } from './kinds.js';
import { limitsOf, Model, type LimitConfig, type ModelCall, type Refusal, type Settlement } from './model.js';
import type {
  BadCall,
  CountChoice,
  MaxWaitChoice,
  Op,
  Program,
  ReconfigureChoice,
  Reentrant,
  SignalChoice,
} from './program.js';

/** How a call's promise settled, as observed. */
interface Observation {
  readonly granted: boolean;
  readonly error: unknown;
  /** The clock reading when its callback ran. */
  readonly reading: number;
  /** The fake clock's whole ms then (timers fire at whole ms). */
  readonly ms: number;
  /** Whether readings were invalid then. */
  readonly duringBadReadings: boolean;
}

/** A stretch of fake time during which every reading was invalid, and how long the bucket may take to retry. */
interface BadWindow {
  readonly from: number;
  readonly until: number;
  readonly retry: number;
}

/** What the program does to its AbortControllers. */
interface Controller {
  readonly controller: AbortController;
  /** Whether the model has seen the abort. */
  modelAborted: boolean;
  /** How many abort listeners the user (the program) added. */
  userListeners: number;
}

const INVALID_CLOCK = 'InvalidClockReadingError';

function describeValue(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'number' && !Number.isFinite(item) ? String(item) : Object.is(item, -0) ? '-0' : item,
  );
}

/**
 * The longest a bucket may take to grant, once readings are valid again, what fell due while every
 * reading was invalid for `length` ms (README: a timer that wakes on an invalid reading looks again
 * after 1 ms, doubling to 1 s while the readings stay invalid): the retry delay in force by then is at
 * most 2 × length + 1 ms, and at most 1 s.
 */
function retryWindow(length: number): number {
  return Math.min(1000, 2 * length + 1) + 1;
}

/**
 * Runs `program` on a bucket of `kind` and on the model side by side, checking after every step (and
 * inside every callback) that the bucket does what the model says. Returns the log of everything the
 * bucket did, for comparing kinds with each other. Throws on the first discrepancy, naming the kind,
 * the step and what differs; with `checking` false it only records the log.
 */
export async function runProgram(kind: ModelKind, program: Program, checking = true): Promise<string[]> {
  const run = new Run(kind, program, checking);
  await run.start();
  for (const [index, op] of program.ops.entries()) {
    run.step = `step ${index} ${describeValue(op)}`;
    await run.apply(op);
    await run.checkpoint();
  }
  run.step = 'end';
  await run.finish();
  return run.log;
}

class Run {
  readonly log: string[] = [];
  step = 'creation';
  private readonly fake: FakeClock = createFakeClock();
  private readonly clock = new BadReadingClock(this.fake);
  private target!: ModelTarget;
  private model!: Model;
  private limits: readonly LimitConfig[];
  private readonly expected = new Map<number, Settlement>();
  private readonly observed = new Map<number, Observation>();
  private readonly keyOfCall = new Map<number, number>();
  /** The ids of granted calls per key, in the order their callbacks ran. */
  private readonly grantOrder: number[][];
  private readonly controllers: Controller[] = [];
  private readonly badWindows: BadWindow[] = [];
  /** Failures inside callbacks, rethrown at the next checkpoint. */
  private readonly failures: Error[] = [];
  /** Names for the values a promise may reject with (abort reasons, thrown errors). */
  private readonly names = new Map<unknown, string>();
  private nextId = 0;

  constructor(
    private readonly kind: ModelKind,
    private readonly program: Program,
    private readonly checking: boolean,
  ) {
    this.limits = limitsOf(program.config);
    this.grantOrder = Array.from({ length: kind.keyCount }, () => []);
    for (let i = 0; i < 3; i += 1) this.addController();
  }

  async start(): Promise<void> {
    await this.advance(this.program.createdAt);
    this.target = this.kind.create({ ...this.program.config, clock: this.clock });
    this.model = new Model(this.program.config, this.now(), this.kind.keyCount, (settlement) => {
      this.expected.set(settlement.id, settlement);
    });
    this.record('created');
    await this.checkpoint();
  }

  async apply(op: Op): Promise<void> {
    switch (op.kind) {
      case 'get':
        this.get(op.key % this.kind.keyCount, op.count, op.maxWait, op.signal, op.then);
        break;
      case 'try':
        this.tryGet(op.key % this.kind.keyCount, this.count(op.count));
        break;
      case 'wait':
        this.waitTime(op.key % this.kind.keyCount, this.count(op.count));
        break;
      case 'tick':
        await this.advance(op.ms);
        this.record(`ticked ${op.ms}`);
        break;
      case 'abort':
        this.abort(op.controller, op.withReason, op.listener);
        break;
      case 'reconfigure':
        this.reconfigure(op.change);
        break;
      case 'bad calls':
        for (const { reading, call } of op.calls) this.badCall(reading, call);
        break;
      case 'bad tick':
        await this.badTick(op.reading, op.ms);
        break;
      case 'close':
        this.close();
        break;
    }
  }

  /**
   * Checks everything observable against the model: first what the timers did on their own (grants in
   * FIFO order, none before its instant, everyone due by the whole ms at or after its instant granted),
   * then, after calls that bring the bucket up to date, `available`, `pending`, `stats()` and every
   * promise's outcome.
   */
  async checkpoint(): Promise<void> {
    await settle();
    this.rethrow();
    // What the timers did, before any call brings the bucket up to date.
    this.checkGrants(true);
    // Bring every key up to date and compare the state.
    const t = this.now();
    for (let key = 0; key < this.kind.keyCount; key += 1) {
      const available = this.target.available(key);
      const pending = this.target.pending(key);
      this.record(`key ${key}: available=${available} pending=${pending}`);
      this.checkEqual(available, this.model.available(key, t), `available of key ${key}`);
      this.checkEqual(pending, this.model.pending(key, t), `pending of key ${key}`);
    }
    this.checkStats(this.target.stats(), this.model.stats(t));
    await settle();
    this.rethrow();
    this.checkGrants(false);
    this.checkSettlements();
  }

  async finish(): Promise<void> {
    this.close();
    await settle();
    this.rethrow();
    this.checkSettlements();
    const unsettled = [...this.keyOfCall.keys()].filter((id) => !this.observed.has(id));
    this.checkEqual(unsettled, [], 'calls still unsettled after close()');
    this.checkEqual(this.fake.countTimers(), 0, 'timers left after close()');
    for (const [index, { controller, userListeners }] of this.controllers.entries()) {
      const listeners = getEventListeners(controller.signal, 'abort').length;
      this.checkEqual(
        listeners,
        userListeners,
        `abort listeners on signal ${index} after close() (the program's own: ${userListeners})`,
      );
    }
  }

  // --- the operations -------------------------------------------------------------------------

  private get(
    key: number,
    countChoice: CountChoice,
    maxWaitChoice: MaxWaitChoice,
    signalChoice: SignalChoice,
    then: readonly Reentrant[],
  ): void {
    const id = this.nextId++;
    const count = this.count(countChoice);
    const validCount = Number.isInteger(count) && count >= 1 && count <= this.model.capacity;
    const t = this.now();
    const open = !this.model.isClosed;
    // At most one reason to refuse at once, so that their order does not matter.
    let maxWait: number | undefined;
    let libraryWaitTime: number | undefined;
    if (validCount && open) {
      switch (maxWaitChoice.kind) {
        case 'none':
          break;
        case 'fixed':
          maxWait = maxWaitChoice.ms;
          break;
        case 'invalid':
          maxWait = maxWaitChoice.ms;
          break;
        case 'library wait':
          libraryWaitTime = this.waitTime(key, count);
          maxWait = libraryWaitTime + maxWaitChoice.offset;
          break;
        case 'model wait': {
          const wait = this.model.waitTime(key, count, t);
          maxWait = (typeof wait === 'bigint' ? toNumber(wait) : 0) + maxWaitChoice.offset;
          break;
        }
      }
    }
    const validMaxWait = maxWait === undefined || maxWait >= 0;
    const call: Partial<{ -readonly [K in keyof ModelCall]: ModelCall[K] }> = {};
    let signal: AbortSignal | undefined;
    if (validCount && validMaxWait && open) {
      switch (signalChoice.kind) {
        case 'none':
          break;
        case 'controller': {
          const entry = this.controllerAt(signalChoice.index);
          const real = entry.controller.signal;
          signal = signalChoice.proxy ? new Proxy(real, {}) : real;
          call.abortGroup = entry;
          if (real.aborted) call.aborted = { kind: 'value', value: real.reason };
          break;
        }
        case 'aborted without reason':
          signal = signalLike(true, () => undefined);
          call.aborted = { kind: 'AbortError' };
          break;
        case 'throwing addEventListener':
          // Only for a caller that must queue (an immediate grant never needs a listener), with no
          // maxWait to refuse it first.
          if (maxWait === undefined && this.model.mustQueue(key, count, t)) {
            const thrown = new Error(`addEventListener of call ${id} throws`);
            this.names.set(thrown, `thrown#${id}`);
            signal = signalLike(false, () => {
              throw thrown;
            });
            call.addListenerThrows = { value: thrown };
          }
          break;
      }
    }
    // Within floating-point rounding of the exact wait, the library's own waitTime() settles maxWait.
    if (
      libraryWaitTime === undefined &&
      validCount &&
      open &&
      maxWait !== undefined &&
      Number.isFinite(maxWait) &&
      maxWait >= 0
    ) {
      libraryWaitTime = this.waitTime(key, count);
    }
    const options: GetTokenOptions = {};
    if (signal !== undefined) options.signal = signal;
    if (maxWait !== undefined) options.maxWait = maxWait;
    this.record(`get#${id} key ${key} count=${count} ${describeValue(options.maxWait)} ${signalChoice.kind}`);
    const promise = this.target.getToken(key, count, options);
    this.model.getToken({ ...call, id, key, count, maxWait, libraryWaitTime }, this.now());
    this.track(id, key, promise, then);
  }

  private tryGet(key: number, count: number): void {
    const expected = this.model.tryGetToken(key, count, this.now());
    const actual = attempt(() => this.target.tryGetToken(key, count));
    this.record(`try(${count}) key ${key} = ${this.describeAttempt(actual)}`);
    if (typeof expected === 'boolean') {
      this.checkEqual(actual, { value: expected }, `tryGetToken(${count}) on key ${key}`);
    } else {
      this.expectThrown(actual, expected, `tryGetToken(${count}) on key ${key}`);
    }
  }

  /** Calls waitTime() and checks it against the model; returns what it returned (NaN if it threw). */
  private waitTime(key: number, count: number): number {
    const expected = this.model.waitTime(key, count, this.now());
    const actual = attempt(() => this.target.waitTime(key, count));
    this.record(`waitTime(${count}) key ${key} = ${this.describeAttempt(actual)}`);
    if (typeof expected === 'bigint') {
      if (!('value' in actual)) {
        this.fail(`waitTime(${count}) on key ${key} threw ${this.describeError(actual.error)}`);
        return Number.NaN;
      }
      this.expectClose(actual.value, expected, `waitTime(${count}) on key ${key}`);
      return actual.value;
    }
    this.expectThrown(actual, expected, `waitTime(${count}) on key ${key}`);
    return Number.NaN;
  }

  private abort(index: number, withReason: boolean, listener: readonly Reentrant[]): void {
    const entry = this.controllerAt(index);
    const { controller } = entry;
    if (controller.signal.aborted) {
      controller.abort(); // does nothing
      this.record(`abort of signal ${index}: already aborted`);
      return;
    }
    if (listener.length > 0) {
      // Added now, after the bucket's own listener (added when a caller of this signal queued).
      entry.userListeners += 1;
      controller.signal.addEventListener('abort', () => {
        this.guard(() => {
          this.modelAbort(entry);
          this.reenter(listener, 'abort listener');
        });
      });
    }
    const reason = withReason ? new Error(`reason of signal ${this.controllers.indexOf(entry)}`) : undefined;
    this.record(`abort signal ${this.controllers.indexOf(entry)}`);
    controller.abort(reason);
    this.names.set(controller.signal.reason, `reason of signal ${this.controllers.indexOf(entry)}`);
    this.modelAbort(entry);
  }

  private modelAbort(entry: Controller): void {
    if (entry.modelAborted) return;
    entry.modelAborted = true;
    this.model.abort(entry, { kind: 'value', value: entry.controller.signal.reason }, this.now());
  }

  private reconfigure(change: ReconfigureChoice): void {
    let options: ReconfigureOptions | Readonly<Record<string, unknown>>;
    let limits: readonly LimitConfig[] | undefined;
    switch (change.kind) {
      case 'single': {
        const single: { capacity?: number; refillTokens?: number; refillInterval?: number } = {};
        if (change.capacity !== undefined) single.capacity = change.capacity;
        if (change.refillTokens !== undefined) single.refillTokens = change.refillTokens;
        if (change.refillInterval !== undefined) single.refillInterval = change.refillInterval;
        options = single;
        // An omitted option keeps its value; a bucket of several limits takes { limits } only.
        const [only] = this.limits;
        limits =
          this.model.limitCount === 1 && only !== undefined
            ? [
                {
                  capacity: single.capacity ?? only.capacity,
                  refillTokens: single.refillTokens ?? only.refillTokens ?? 1,
                  refillInterval: single.refillInterval ?? only.refillInterval ?? 1000,
                },
              ]
            : undefined;
        break;
      }
      case 'limits':
        options = { limits: change.limits };
        limits = change.limits;
        break;
      case 'invalid':
        options = change.options;
        limits = undefined;
        break;
    }
    const actual = attempt(() => {
      this.target.reconfigure(options as ReconfigureOptions);
    });
    this.record(`reconfigure ${describeValue(options)}: ${this.describeAttempt(actual)}`);
    const closed = this.model.isClosed;
    const accepted = this.model.reconfigure(limits, this.now());
    if (accepted && limits !== undefined) {
      this.limits = limits;
      this.check('value' in actual, () => `reconfigure() with valid options ${this.describeAttempt(actual)}`);
    } else if (closed) {
      this.expectThrown(actual, { kind: 'BucketClosedError' }, 'reconfigure() after close()');
    } else {
      const error = 'error' in actual ? actual.error : undefined;
      this.check(
        error instanceof TypeError || error instanceof RangeError,
        () =>
          `reconfigure() with invalid options must throw a TypeError or RangeError: ${this.describeAttempt(actual)}`,
      );
    }
  }

  /** One call while every reading is `reading`: it must change nothing. */
  private badCall(reading: number, call: BadCall): void {
    if (this.model.isClosed) return;
    const invalid: Refusal = { kind: INVALID_CLOCK, reading };
    const what = `${call.kind} with the clock reading ${String(reading)}`;
    const key = 'key' in call ? call.key % this.kind.keyCount : 0;
    switch (call.kind) {
      case 'get': {
        const id = this.nextId++;
        const count = 1 + ((call.count - 1) % this.model.capacity);
        this.record(`get#${id} key ${key} count=${count} with reading ${String(reading)}`);
        const promise = this.clock.withReading(reading, () => this.target.getToken(key, count, {}));
        this.expected.set(id, { id, granted: false, refusal: invalid });
        this.track(id, key, promise, []);
        break;
      }
      case 'try':
      case 'wait': {
        const count = 1 + ((call.count - 1) % this.model.capacity);
        const actual = this.clock.withReading(reading, () =>
          attempt(() => (call.kind === 'try' ? this.target.tryGetToken(key, count) : this.target.waitTime(key, count))),
        );
        this.record(`${what}: ${this.describeAttempt(actual)}`);
        this.expectThrown(actual, invalid, what);
        break;
      }
      case 'reconfigure': {
        const limits = this.limits.map(({ capacity, refillInterval }) => ({
          capacity,
          refillTokens: call.refillTokens,
          refillInterval,
        }));
        const actual = this.clock.withReading(reading, () =>
          attempt(() => {
            this.target.reconfigure({ limits });
          }),
        );
        this.record(`${what}: ${this.describeAttempt(actual)}`);
        this.expectThrown(actual, invalid, what);
        break;
      }
      case 'available':
      case 'pending': {
        const actual = this.clock.withReading(reading, () =>
          attempt(() => (call.kind === 'available' ? this.target.available(key) : this.target.pending(key))),
        );
        this.record(`${what} key ${key}: ${this.describeAttempt(actual)}`);
        const expected = call.kind === 'available' ? this.model.lastAvailable(key) : this.model.pending(key);
        this.checkEqual(actual, { value: expected }, `${what} must report the last state`);
        break;
      }
      case 'stats': {
        const actual = this.clock.withReading(reading, () => attempt(() => this.target.stats()));
        this.record(what);
        if ('value' in actual) this.checkStats(actual.value, this.model.stats());
        else this.fail(`${what} threw ${this.describeError(actual.error)}`);
        break;
      }
    }
  }

  /** Fake time advancing by `ms` while every reading is `reading`: timers wake on it and must grant nothing. */
  private async badTick(reading: number, ms: number): Promise<void> {
    const from = this.fake.now;
    this.clock.bad = reading;
    try {
      await this.advance(ms);
      await settle();
    } finally {
      this.clock.bad = undefined;
    }
    const retry = retryWindow(this.fake.now - from);
    this.badWindows.push({ from, until: this.fake.now, retry });
    this.record(`ticked ${ms} reading ${String(reading)}`);
    // The bucket must retry by itself, without being called.
    await this.advance(retry);
    this.record(`ticked ${retry}`);
  }

  private close(): void {
    this.record('close');
    this.target.close();
    this.model.close(this.now());
  }

  /**
   * Calls made from a callback: a grant's `.then` (`grantedKey` is the key just granted, which the
   * bucket has just brought up to date), or an abort listener (every key is up to date then).
   */
  private reenter(calls: readonly Reentrant[], where: string, grantedKey?: number): void {
    if (calls.length === 0) return;
    // Another key the library has not looked at since an instant passed may still hold a caller that
    // is due, a state the model cannot know; looking at those keys first makes it definite.
    if (grantedKey !== undefined && !this.model.isClosed) {
      const t = this.now();
      for (let key = 0; key < this.kind.keyCount; key += 1) {
        if (key === grantedKey) continue;
        const available = this.target.available(key);
        this.record(`${where}: key ${key} available=${available}`);
        this.checkEqual(available, this.model.available(key, t), `available of key ${key} in ${where}`);
      }
    }
    for (const call of calls) {
      this.record(`${where}: ${describeValue(call)}`);
      const key = 'key' in call ? call.key % this.kind.keyCount : 0;
      switch (call.kind) {
        case 'get':
          this.get(
            key,
            call.count,
            { kind: 'none' },
            call.signal === undefined ? { kind: 'none' } : { kind: 'controller', index: call.signal, proxy: false },
            [],
          );
          break;
        case 'try':
          this.tryGet(key, this.count(call.count));
          break;
        case 'wait':
          if (!this.model.isClosed) this.waitTime(key, this.count(call.count));
          break;
        case 'abort': {
          const entry = this.controllerAt(call.controller);
          if (!entry.controller.signal.aborted) {
            entry.controller.abort(new Error(`reason of signal ${this.controllers.indexOf(entry)}`));
            this.names.set(entry.controller.signal.reason, `reason of signal ${this.controllers.indexOf(entry)}`);
            this.modelAbort(entry);
          }
          break;
        }
        case 'close':
          this.close();
          break;
      }
    }
  }

  // --- observing ----------------------------------------------------------------------------------

  private track(id: number, key: number, promise: Promise<void>, then: readonly Reentrant[]): void {
    this.keyOfCall.set(id, key);
    const observe = (granted: boolean, error: unknown): void => {
      const observation: Observation = {
        granted,
        error,
        reading: this.fake.performance.now(),
        ms: this.fake.now,
        duringBadReadings: this.clock.bad !== undefined,
      };
      this.observed.set(id, observation);
      this.record(`#${id} ${granted ? 'granted' : `rejected ${this.describeError(error)}`}`);
      if (granted) this.grantOrder[key]?.push(id);
    };
    promise.then(
      () => {
        this.guard(() => {
          observe(true, undefined);
          this.reenter(then, `.then of #${id}`, key);
        });
      },
      (error: unknown) => {
        observe(false, error);
      },
    );
  }

  /** Grants so far: FIFO per key, none before its instant, none late, none during invalid readings. */
  private checkGrants(timersOnly: boolean): void {
    const nowMs = this.fake.now;
    for (let key = 0; key < this.kind.keyCount; key += 1) {
      const observed = this.grantOrder[key] ?? [];
      const granted = this.model.grantOrder[key] ?? [];
      const plan = this.model.plan(key);
      if (timersOnly) {
        // The model has granted what calls made the library grant; the timers may have granted more,
        // but only the next ones in line.
        this.checkEqual(observed.slice(0, granted.length), granted, `grants of key ${key} in FIFO order`);
        const ahead = observed.slice(granted.length);
        this.checkEqual(
          ahead,
          plan.slice(0, ahead.length).map(({ waiter }) => waiter.id),
          `grants of key ${key} by timers, in FIFO order (the model's queue: ${describeValue(plan.map(({ waiter }) => waiter.id))})`,
        );
        for (const { waiter, at } of plan.slice(ahead.length)) {
          const deadline = this.deadline(at);
          this.check(
            deadline > nowMs,
            () =>
              `call #${waiter.id} (key ${key}) is not granted at whole ms ${nowMs}: its instant is ${toNumber(at)} ms, so the timers must grant it by ${deadline} ms`,
          );
        }
      } else {
        this.checkEqual(observed, granted, `grants of key ${key} once every key is brought up to date`);
      }
      const instants = new Map(plan.map(({ waiter, at }) => [waiter.id, at]));
      for (const id of observed) {
        const observation = this.observed.get(id);
        const at = this.model.grantedAt.get(id) ?? instants.get(id);
        if (observation === undefined || at === undefined) continue;
        const what = `call #${id} (key ${key}), granted at ${observation.reading} ms (whole ms ${observation.ms}), instant ${toNumber(at)} ms`;
        this.check(!observation.duringBadReadings, () => `${what}: granted while the clock read invalid readings`);
        this.check(exact(observation.reading) >= at, () => `${what}: granted before its instant`);
        this.check(
          observation.ms <= this.deadline(at),
          () => `${what}: granted after whole ms ${this.deadline(at)}, the first at or after its instant`,
        );
      }
    }
  }

  /** The whole ms by which the timers must grant a caller due at `at` (later after invalid readings). */
  private deadline(at: Exact): number {
    const deadline = ceilMs(at);
    for (const { from, until, retry } of this.badWindows) {
      if (from <= deadline && deadline <= until + retry) return Math.max(deadline, until + retry);
    }
    return deadline;
  }

  private checkSettlements(): void {
    for (const [id, observation] of this.observed) {
      const expected = this.expected.get(id);
      const what = `call #${id}`;
      const outcome = observation.granted ? 'was granted' : `rejected with ${this.describeError(observation.error)}`;
      if (expected === undefined) {
        this.fail(`${what} ${outcome}, but the model says it still waits`);
      } else if (expected.granted) {
        this.check(observation.granted, () => `${what} ${outcome}, but the model says it is granted`);
      } else if (observation.granted) {
        this.fail(`${what} was granted, but the model says it is rejected (${expected.refusal.kind})`);
      } else {
        this.expectRefusal(observation.error, expected.refusal, what);
      }
    }
    for (const [id, expected] of this.expected) {
      this.check(
        this.observed.has(id),
        () =>
          `call #${id} should be ${expected.granted ? 'granted' : `rejected (${expected.refusal.kind})`} by now, but has not settled`,
      );
    }
  }

  private checkStats(actual: TokenBucketStats, expected: ReturnType<Model['stats']>): void {
    const common = {
      tokensGranted: actual.tokensGranted,
      granted: actual.granted,
      denied: actual.denied,
      maxWaitExceeded: actual.maxWaitExceeded,
      aborted: actual.aborted,
      closed: actual.closed,
      overCapacity: actual.overCapacity,
      pending: actual.pending,
    };
    this.record(`stats ${describeValue(common)}`);
    this.checkEqual(common, expected, 'stats()');
    // A keyed bucket without maxKeys never evicts (README: "Without maxKeys, no limit is ever exceeded").
    if ('evictions' in actual) this.checkEqual(actual.evictions, 0, 'stats().evictions');
  }

  private expectRefusal(error: unknown, refusal: Refusal, what: string): void {
    const message = (): string => `${what}: rejected with ${this.describeError(error)}, expected ${refusal.kind}`;
    const fields = (error ?? {}) as { name?: unknown; waitTime?: unknown; maxWait?: unknown; reading?: unknown };
    switch (refusal.kind) {
      case 'RangeError':
      case 'overCapacity':
        this.check(error instanceof RangeError, message);
        break;
      case 'TypeError':
        this.check(error instanceof TypeError, message);
        break;
      case 'BucketClosedError':
        this.check(fields.name === 'BucketClosedError', message);
        break;
      case 'MaxWaitExceededError':
        this.check(fields.name === 'MaxWaitExceededError' && Object.is(fields.maxWait, refusal.maxWait), message);
        if (typeof fields.waitTime === 'number') {
          this.expectClose(fields.waitTime, refusal.waitTime, `${what}: the waitTime of its MaxWaitExceededError`);
        }
        break;
      case 'value':
        this.check(Object.is(error, refusal.value), message);
        break;
      case 'AbortError':
        this.check(error instanceof DOMException && error.name === 'AbortError', message);
        break;
      case 'InvalidClockReadingError':
        this.check(
          error instanceof TypeError && fields.name === INVALID_CLOCK && Object.is(fields.reading, refusal.reading),
          () => `${message()} with reading ${String(refusal.reading)}`,
        );
        break;
    }
  }

  private expectThrown(actual: Attempt<unknown>, refusal: Refusal, what: string): void {
    if ('value' in actual)
      this.fail(`${what} returned ${describeValue(actual.value)}, expected it to throw ${refusal.kind}`);
    else this.expectRefusal(actual.error, refusal, what);
  }

  /** A double the library computed equals the model's exact value, to within rounding. */
  private expectClose(actual: number, expected: Exact, what: string): void {
    const expectedNumber = toNumber(expected);
    const ok =
      Number.isFinite(actual) &&
      Math.abs(actual - expectedNumber) <= tolerance(actual, expectedNumber, toNumber(this.now()));
    this.check(ok, () => `${what}: ${actual}, expected ${expectedNumber} (exactly ${describeExact(expected)})`);
  }

  private check(ok: boolean, message: () => string): void {
    if (!ok) this.fail(message());
  }

  private checkEqual(actual: unknown, expected: unknown, what: string): void {
    if (!isDeepStrictEqual(actual, expected)) {
      this.fail(`${what}: ${describeValue(actual)}, expected ${describeValue(expected)}`);
    }
  }

  /** Reports a discrepancy (when checking): the kind, the step, the clock reading, and what. */
  private fail(what: string): void {
    if (!this.checking) return;
    throw new Error(`${this.kind.name}, ${this.step}, at ${this.fake.performance.now()} ms: ${what}`);
  }

  // --- helpers --------------------------------------------------------------------------------------

  /**
   * Advances the fake clock by `ms` so that timers fire at whole-ms readings: to the next whole ms
   * first, then by whole ms, then the rest. (One fake-timers `tickAsync(ms)` applies the sub-ms part of
   * `ms` at its start, so that its timers would fire at readings a fraction past the whole ms.)
   */
  private async advance(ms: number): Promise<void> {
    const fraction = this.fake.performance.now() - this.fake.now;
    if (fraction + ms < 1) {
      await this.fake.tickAsync(ms);
      return;
    }
    const toWhole = fraction === 0 ? 0 : 1 - fraction;
    const rest = ms - toWhole;
    if (toWhole > 0) await this.fake.tickAsync(toWhole);
    await this.fake.tickAsync(Math.floor(rest));
    await this.fake.tickAsync(rest - Math.floor(rest));
  }

  private now(): Exact {
    return exact(this.fake.performance.now());
  }

  private count(choice: CountChoice): number {
    const capacity = this.model.capacity;
    switch (choice) {
      case 'zero':
        return 0;
      case 'above capacity':
        return capacity + 1;
      case 'fraction':
        return 1.5;
      case 'negative':
        return -1;
      default:
        return 1 + ((choice - 1) % capacity);
    }
  }

  private addController(): Controller {
    const entry: Controller = { controller: new AbortController(), modelAborted: false, userListeners: 0 };
    this.controllers.push(entry);
    return entry;
  }

  private controllerAt(index: number | 'new'): Controller {
    if (index === 'new') return this.addController();
    const entry = this.controllers[index % this.controllers.length];
    if (entry === undefined) throw new Error('no controller');
    return entry;
  }

  private record(line: string): void {
    this.log.push(`${this.fake.performance.now()} ${line}`);
  }

  private guard(action: () => void): void {
    try {
      action();
    } catch (error) {
      this.failures.push(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private rethrow(): void {
    const [first] = this.failures;
    if (first !== undefined) throw first;
  }

  private describeError(error: unknown): string {
    const name = this.names.get(error);
    if (name !== undefined) return name;
    if (error instanceof Error || error instanceof DOMException) {
      const { waitTime, maxWait, reading } = error as { waitTime?: unknown; maxWait?: unknown; reading?: unknown };
      const details = [waitTime, maxWait, reading].filter((value) => value !== undefined).map(String);
      return `${error.name}${details.length > 0 ? `(${details.join(', ')})` : ''}`;
    }
    return describeValue(error);
  }

  private describeAttempt(actual: Attempt<unknown>): string {
    return 'value' in actual ? describeValue(actual.value) : `threw ${this.describeError(actual.error)}`;
  }
}

type Attempt<T> = { value: T } | { error: unknown };

function attempt<T>(action: () => T): Attempt<T> {
  try {
    return { value: action() };
  } catch (error) {
    return { error };
  }
}

function describeExact(value: Exact): string {
  return `${value} × 2^-80`;
}

/** An object that passes for an AbortSignal: `aborted`, `reason` undefined, and listener methods. */
function signalLike(aborted: boolean, addEventListener: () => void): AbortSignal {
  return {
    aborted,
    reason: undefined,
    addEventListener,
    removeEventListener: () => undefined,
  } as unknown as AbortSignal;
}

/** Lets every callback of settled promises run (a real macrotask: the fake clock is not global). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
