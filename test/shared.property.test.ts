import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LazyTokenBucketFilter } from '../src/LazyTokenBucketFilter.js';
import { initialDebit, replay, reserve, take, tokensAt, withdraw, type DebitParams } from '../src/shared/state.js';
import { createFakeClock, flushPromises, track, type Outcome } from './support/clock.js';
import { defined } from './support/defined.js';

const params = (capacity: number, refillTokens: number): DebitParams => ({
  capacity: BigInt(capacity),
  refillTokens: BigInt(refillTokens),
});

describe('the debit arithmetic (table)', () => {
  // capacity 3, 2 tokens per step, starting empty: the rows of the conformance table, in debit form.
  const p = params(3, 2);
  it('holds min(capacity, step × refillTokens − debit) tokens, negative while in debt', () => {
    const debit = initialDebit(0);
    expect(tokensAt(p, debit, 0n)).toBe(0n);
    expect(tokensAt(p, debit, 2n)).toBe(2n); // step 1
    expect(tokensAt(p, debit, 12n)).toBe(3n); // step 6: capped
    expect(tokensAt(p, 7n, 2n)).toBe(-5n); // step 1 with a debit of 7: 5 tokens of debt
  });

  it('take() succeeds only when the tokens are held, and moves the debit by what the cap kept', () => {
    expect(take(p, 0n, 2n, 3n)).toBeUndefined(); // step 1: 2 held
    expect(take(p, 0n, 2n, 2n)).toBe(2n);
    expect(take(p, 0n, 12n, 1n)).toBe(12n - 3n + 1n); // step 6: 3 held (cap), 1 taken
    expect(take(p, 7n, 2n, 1n)).toBeUndefined(); // in debt: a reservation is outstanding
  });

  it('reserve() lands on the first step that covers the count, behind the debt, and grants now when it can', () => {
    expect(reserve(p, 0n, 0, 3n)).toEqual({ step: 2, debit: 4n }); // 3 at step 2 (4 earned, 3 kept)
    expect(reserve(p, 4n, 0, 3n)).toEqual({ step: 4, debit: 8n });
    expect(reserve(p, 0n, 1, 2n)).toEqual({ step: 1, debit: 2n }); // held now: granted at the current step
    expect(reserve(p, -3n, 0, 1n)).toEqual({ step: 0, debit: -2n }); // a full bucket at creation
    expect(reserve(p, -3n, 5, 3n)).toEqual({ step: 5, debit: 10n }); // long idle: the cap counts
  });

  it('replay() re-reserves the callers behind a withdrawn one, each no later than before', () => {
    const before = 0n;
    const first = reserve(p, before, 0, 3n);
    const second = reserve(p, first.debit, 0, 3n);
    const third = reserve(p, second.debit, 0, 1n);
    const moved = replay(p, before, 0, [3n, 1n]); // the first withdrawn
    expect(moved.map((r) => r.step)).toEqual([2, 3]);
    expect(defined(moved[0]).step).toBeLessThanOrEqual(second.step);
    expect(defined(moved[1]).step).toBeLessThanOrEqual(third.step);
  });
});

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

// The shared bucket in one thread against the lazy bucket, for any sequence of calls: the list-driven
// differential property (test/differential.property.test.ts), on the one harness.

/**
 * Simulated threads sharing one debit word. Each operation is split where a real thread can be
 * interrupted: it reads the word and computes its update (`read`), and later tries to
 * compare-and-exchange it (`commit`), retrying from a fresh read when another thread got there first.
 * fast-check picks the interleaving and when time moves.
 */
type Event =
  | { kind: 'tick'; steps: number }
  | { kind: 'read'; thread: number; op: 'take' | 'reserve'; count: number }
  | { kind: 'commit'; thread: number }
  | { kind: 'abort'; thread: number; index: number };

interface Proposal {
  op: 'take' | 'reserve';
  count: number;
  read: bigint;
  step: number;
  next: bigint;
  grantStep: number;
}

interface SimReservation {
  id: number;
  count: number;
  step: number;
  before: bigint;
  after: bigint;
}

/** One linearized operation, in the order the shared word saw them. */
type Linearized =
  | { kind: 'take'; step: number; count: number; ok: boolean }
  | { kind: 'reserve'; step: number; count: number; id: number }
  | { kind: 'abort'; step: number; id: number; unused: boolean };

const THREADS = 3;

const events = (capacity: number): fc.Arbitrary<Event[]> =>
  fc.array(
    fc.oneof(
      {
        weight: 1,
        arbitrary: fc.record({ kind: fc.constant('tick' as const), steps: fc.integer({ min: 0, max: 3 }) }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('read' as const),
          thread: fc.integer({ min: 0, max: THREADS - 1 }),
          op: fc.constantFrom('take' as const, 'reserve' as const),
          count: fc.integer({ min: 1, max: capacity }),
        }),
      },
      {
        weight: 3,
        arbitrary: fc.record({
          kind: fc.constant('commit' as const),
          thread: fc.integer({ min: 0, max: THREADS - 1 }),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          kind: fc.constant('abort' as const),
          thread: fc.integer({ min: 0, max: THREADS - 1 }),
          index: fc.nat(),
        }),
      },
    ),
    { minLength: 10, maxLength: 120, size: 'max' },
  );

/** Runs the interleaving on the pure functions; returns the linearized history and each reservation. */
function simulate(
  options: { capacity: number; refillTokens: number; initialTokens: number },
  schedule: Event[],
): { history: Linearized[]; reservations: Map<number, SimReservation>; aborted: Set<number> } {
  const p = params(options.capacity, options.refillTokens);
  let word = initialDebit(options.initialTokens);
  let step = 0;
  let nextId = 0;
  const history: Linearized[] = [];
  const reservations = new Map<number, SimReservation>();
  const aborted = new Set<number>();
  const proposals: Array<Proposal | undefined> = Array.from({ length: THREADS }, () => undefined);
  const queues: SimReservation[][] = Array.from({ length: THREADS }, () => []);
  const propose = (op: 'take' | 'reserve', count: number): Proposal => {
    const read = word;
    const stepTokens = BigInt(step) * p.refillTokens;
    if (op === 'take') {
      const next = take(p, read, stepTokens, BigInt(count));
      return { op, count, read, step, next: next ?? read, grantStep: next === undefined ? -1 : step };
    }
    const reservation = reserve(p, read, step, BigInt(count));
    return { op, count, read, step, next: reservation.debit, grantStep: reservation.step };
  };
  for (const event of schedule) {
    // Reservations whose step has come are granted: they leave their thread's queue.
    for (const queue of queues) while (queue.length > 0 && defined(queue[0]).step <= step) queue.shift();
    switch (event.kind) {
      case 'tick':
        step += event.steps;
        break;
      case 'read': {
        if (proposals[event.thread] !== undefined) break;
        const proposal = propose(event.op, event.count);
        if (proposal.op === 'take' && proposal.grantStep < 0) {
          history.push({ kind: 'take', step, count: event.count, ok: false }); // fails at its read
        } else {
          proposals[event.thread] = proposal;
        }
        break;
      }
      case 'commit': {
        const proposal = proposals[event.thread];
        if (proposal === undefined) break;
        if (word !== proposal.read) {
          // Lost the race: read again at the current step (the next commit retries).
          proposals[event.thread] = undefined;
          const retry = propose(proposal.op, proposal.count);
          if (retry.op === 'take' && retry.grantStep < 0)
            history.push({ kind: 'take', step, count: retry.count, ok: false });
          else proposals[event.thread] = retry;
          break;
        }
        word = proposal.next;
        proposals[event.thread] = undefined;
        if (proposal.op === 'take') {
          history.push({ kind: 'take', step: proposal.step, count: proposal.count, ok: true });
        } else {
          const id = nextId++;
          const reservation = {
            id,
            count: proposal.count,
            step: proposal.grantStep,
            before: proposal.read,
            after: proposal.next,
          };
          reservations.set(id, reservation);
          history.push({ kind: 'reserve', step: proposal.step, count: proposal.count, id });
          if (reservation.step > step) defined(queues[event.thread]).push(reservation);
        }
        break;
      }
      case 'abort': {
        // The rule of SharedTokenBucketFilter: give back only when this thread made the latest update.
        const queue = defined(queues[event.thread]);
        if (queue.length === 0 || proposals[event.thread] !== undefined) break;
        const index = event.index % queue.length;
        const withdrawn = defined(queue[index]);
        const chain = queue.slice(index);
        const withdrawal = withdraw(p, word, step, chain);
        if (withdrawal === undefined) {
          // Another thread drew since: the caller is rejected and its step passes unused.
          queue.splice(index, 1);
          aborted.add(withdrawn.id);
          history.push({ kind: 'abort', step, id: withdrawn.id, unused: true });
          break;
        }
        word = withdrawal.debit;
        let before = withdrawn.before;
        chain.slice(1).forEach((r, i) => {
          const moved = defined(withdrawal.moved[i]);
          r.step = moved.step;
          r.before = before;
          r.after = moved.debit;
          before = r.after;
        });
        queue.splice(index, 1);
        aborted.add(withdrawn.id);
        history.push({ kind: 'abort', step, id: withdrawn.id, unused: false });
        break;
      }
    }
  }
  return { history, reservations, aborted };
}

/** Checks the schedule bound on grants given as [step, tokens]: by step k and within any steps a..b. */
function expectWithinSchedule(
  options: { capacity: number; refillTokens: number; initialTokens: number },
  grants: Array<[step: number, count: number]>,
): void {
  const last = Math.max(0, ...grants.map(([step]) => step));
  const perStep = new Array<number>(last + 1).fill(0);
  for (const [step, count] of grants) perStep[step] = defined(perStep[step]) + count;
  let total = 0;
  perStep.forEach((count, k) => {
    total += count;
    expect(total, `granted by step ${k}`).toBeLessThanOrEqual(options.initialTokens + k * options.refillTokens);
  });
  for (let a = 0; a <= last; a += 1) {
    let window = 0;
    for (let b = a; b <= last; b += 1) {
      window += defined(perStep[b]);
      expect(window, `granted in steps ${a}..${b}`).toBeLessThanOrEqual(
        options.capacity + (b - a) * options.refillTokens,
      );
    }
  }
}

describe('the debit word under concurrent updates (simulated interleavings)', () => {
  const interval = 10;
  const scenario = bucketOptions.chain((options) =>
    fc.record({ options: fc.constant(options), schedule: events(options.capacity) }),
  );

  it('never grants more than the schedule allows, whatever the interleaving (stale reads and aborts included)', () => {
    fc.assert(
      fc.property(scenario, ({ options, schedule }) => {
        const { history, reservations, aborted } = simulate(options, schedule);
        const grants: Array<[step: number, count: number]> = [];
        for (const entry of history) if (entry.kind === 'take' && entry.ok) grants.push([entry.step, entry.count]);
        for (const [id, r] of reservations) if (!aborted.has(id)) grants.push([r.step, r.count]);
        expectWithinSchedule(options, grants);
      }),
      { numRuns: 1000 },
    );
  });

  it('grants exactly what the core grants for the same history, in the order the word saw it', async () => {
    let compared = 0;
    let runs = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ options, schedule }) => {
        runs += 1;
        const { history, reservations, aborted } = simulate(options, schedule);
        // A thread that read the word at one step and won the exchange at a later one was granted "in
        // the past" (correctly: nobody touched the word between); the core cannot replay that.
        if (history.some((entry, i) => i > 0 && entry.step < defined(history[i - 1]).step)) return;
        compared += 1;

        const clock = createFakeClock();
        const core = new LazyTokenBucketFilter({ ...options, refillInterval: interval, clock });
        const outcomes = new Map<number, Outcome>();
        const controllers = new Map<number, AbortController>();
        const unused = new Set<number>();
        for (const entry of history) {
          await clock.tickAsync(entry.step * interval - clock.performance.now());
          if (entry.kind === 'take') {
            expect(core.tryGetToken(entry.count), `take ${entry.count} at step ${entry.step}`).toBe(entry.ok);
          } else if (entry.kind === 'reserve') {
            const controller = new AbortController();
            controllers.set(entry.id, controller);
            outcomes.set(entry.id, track(core.getToken(entry.count, { signal: controller.signal }), clock));
          } else if (entry.unused) {
            unused.add(entry.id); // its step passes unused: in the core, as if granted to nobody
          } else {
            controllers.get(entry.id)?.abort();
          }
          await flushPromises();
        }
        await clock.tickAsync(1_000_000);

        // Every reservation is granted at exactly the step the word gave it; aborted ones never.
        for (const [id, reservation] of reservations) {
          const outcome = outcomes.get(id);
          if (aborted.has(id) && !unused.has(id)) expect(outcome?.state, `#${id} aborted`).toBe('rejected');
          else expect(outcome, `#${id}`).toMatchObject({ state: 'granted', at: reservation.step * interval });
        }
        core.close();
      }),
      { numRuns: 400 },
    );
    expect(compared / runs).toBeGreaterThan(0.3);
  });
});
