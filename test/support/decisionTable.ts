/**
 * One table of exact instants for the one decision under every bucket (`src/core/decide.ts`). Each
 * backend's runner replays every case on its own encoding of the state and must reach exactly these
 * outcomes and instants: the core on a `LimitState` (`test/decision.table.test.ts`), the shared
 * bucket on its shared-memory state, and the Redis script through `EVAL` with an explicit `now`
 * against a real Redis. The numbers are written out, not computed, so a change to any encoding or to
 * the core itself that moves one instant fails here.
 *
 * Instants are clock readings in ms; every case starts its refill schedule at `origin`.
 */

/** One limit of a case, as a bucket's options give it. */
export interface TableLimit {
  readonly capacity: number;
  readonly refillTokens: number;
  readonly refillInterval: number;
  readonly initialTokens: number;
}

/** A request: `decide(tail, at, count, maxWait)`; `maxWait` 0 is `tryGetToken()`, Infinity no limit. */
export interface TakeStep {
  readonly op: 'take';
  readonly at: number;
  readonly count: number;
  readonly maxWait: number;
  /** `granted` (now), `reserved` (until `grantAt`), or `refused` (nothing taken). */
  readonly outcome: 'granted' | 'reserved' | 'refused';
  /** The grant instant, for `granted` and `reserved` (a `granted` one may lie before `at`). */
  readonly grantAt?: number;
}

/** A look that changes nothing: what `available` and `waitTime(count)` report at `at`. */
export interface PeekStep {
  readonly op: 'peek';
  readonly at: number;
  readonly count: number;
  readonly available: number;
  /** Ms from `at` until a request of `count` made then would be granted. */
  readonly wait: number;
}

/**
 * Gives back the reservation made by step `of` (an index into the case's steps), at `at`: the
 * reservations of the steps in `keep`, made after it and still wanted, are re-decided in order and
 * land at `instants`. Nothing else may have been reserved after step `of` but the steps in `keep`.
 */
export interface GiveBackStep {
  readonly op: 'giveBack';
  readonly at: number;
  readonly of: number;
  readonly keep: readonly number[];
  readonly instants: readonly number[];
}

export type TableStep = TakeStep | PeekStep | GiveBackStep;

export interface TableCase {
  readonly name: string;
  readonly origin: number;
  readonly limits: readonly TableLimit[];
  readonly steps: readonly TableStep[];
}

const one = (capacity: number, refillTokens: number, refillInterval: number, initialTokens: number): TableLimit => ({
  capacity,
  refillTokens,
  refillInterval,
  initialTokens,
});

export const decisionTable: readonly TableCase[] = [
  {
    name: "the lesson's bucket: capacity 1, one token a second",
    origin: 0,
    limits: [one(1, 1, 1000, 1)],
    steps: [
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'granted', grantAt: 0 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 1000 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 2000 },
      { op: 'peek', at: 500, count: 1, available: 0, wait: 2500 },
      { op: 'take', at: 500, count: 1, maxWait: 2000, outcome: 'refused' },
      { op: 'take', at: 500, count: 1, maxWait: 2500, outcome: 'reserved', grantAt: 3000 },
      { op: 'take', at: 2999, count: 1, maxWait: 0, outcome: 'refused' },
      { op: 'peek', at: 2999, count: 1, available: 0, wait: 1001 },
      // Every reservation has come by 4000: the tail is in the past and the step of 4000 adds a token.
      { op: 'take', at: 4000, count: 1, maxWait: 0, outcome: 'granted', grantAt: 4000 },
      { op: 'peek', at: 4000, count: 1, available: 0, wait: 1000 },
    ],
  },
  {
    name: 'steps of 2 every 100 ms, capped at 5: a grant at the step that covers it, the cap discarding',
    origin: 0,
    limits: [one(5, 2, 100, 0)],
    steps: [
      { op: 'peek', at: 0, count: 5, available: 0, wait: 300 },
      { op: 'take', at: 0, count: 5, maxWait: Infinity, outcome: 'reserved', grantAt: 300 },
      { op: 'peek', at: 350, count: 1, available: 0, wait: 50 },
      // 7 steps since 300 add 14 tokens, capped at 5.
      { op: 'peek', at: 1000, count: 5, available: 5, wait: 0 },
      { op: 'take', at: 1000, count: 5, maxWait: 0, outcome: 'granted', grantAt: 1000 },
      { op: 'take', at: 1050, count: 3, maxWait: Infinity, outcome: 'reserved', grantAt: 1200 },
      // The tail holds 1 token at 1200, still to come: nothing can be taken now.
      { op: 'peek', at: 1050, count: 1, available: 0, wait: 150 },
      // Behind the reservation of 3, which leaves 1 at 1200: 2 more come at 1300.
      { op: 'take', at: 1050, count: 3, maxWait: 250, outcome: 'reserved', grantAt: 1300 },
      // Behind both, 5 take three steps from 1300 (2, 4, then 6 capped at 5): granted at 1600.
      { op: 'take', at: 1050, count: 5, maxWait: 549, outcome: 'refused' },
      { op: 'peek', at: 1050, count: 5, available: 0, wait: 550 },
      { op: 'take', at: 1050, count: 5, maxWait: 550, outcome: 'reserved', grantAt: 1600 },
    ],
  },
  {
    name: 'a granted request takes its tokens at its own instant, before the request if it was due then',
    origin: 10,
    limits: [one(3, 1, 10, 0)],
    steps: [
      // At 45: steps at 20, 30 and 40 have come (3 tokens, the capacity); 3 are granted at step 3's instant.
      { op: 'take', at: 45, count: 3, maxWait: 0, outcome: 'granted', grantAt: 40 },
      { op: 'take', at: 45, count: 1, maxWait: 0, outcome: 'refused' },
      { op: 'take', at: 45, count: 1, maxWait: 5, outcome: 'reserved', grantAt: 50 },
    ],
  },
  {
    name: 'a third of a ms between steps: instants are origin + k × interval, never accumulated',
    origin: 0,
    limits: [one(1, 1, 1 / 3, 0)],
    steps: [
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 0.3333333333333333 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 0.6666666666666666 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 1 },
      { op: 'take', at: 0.9999999999999999, count: 1, maxWait: 0, outcome: 'refused' },
      { op: 'take', at: 1000, count: 1, maxWait: 0, outcome: 'granted', grantAt: 1000 },
      { op: 'peek', at: 1000, count: 1, available: 0, wait: 0.33333333333325754 },
    ],
  },
  {
    name: 'the step count is corrected where dividing by the interval lands one step high (1.7 / 0.1 = 17)',
    origin: 0,
    limits: [one(1, 1, 0.1, 0)],
    steps: [
      { op: 'take', at: 1.6, count: 1, maxWait: 0, outcome: 'granted', grantAt: 1.6 },
      // Step 17 is at 1.7000000000000002, just after 1.7.
      { op: 'take', at: 1.7, count: 1, maxWait: 0, outcome: 'refused' },
      { op: 'peek', at: 1.7, count: 1, available: 0, wait: 2.220446049250313e-16 },
      { op: 'take', at: 1.7000000000000002, count: 1, maxWait: 0, outcome: 'granted', grantAt: 1.7000000000000002 },
    ],
  },
  {
    name: 'the step count is corrected where dividing by the interval lands one step low (4.3 / 0.1 = 42.99…)',
    origin: 0,
    limits: [one(1, 1, 0.1, 0)],
    steps: [
      { op: 'take', at: 4.2, count: 1, maxWait: 0, outcome: 'granted', grantAt: 4.2 },
      // Step 43 is at exactly 4.3: its token is there (a step count one low would report none held,
      // though the grant below would still be decided right: only `available` shows the count).
      { op: 'peek', at: 4.3, count: 1, available: 1, wait: 0 },
      { op: 'take', at: 4.3, count: 1, maxWait: 0, outcome: 'granted', grantAt: 4.3 },
      { op: 'take', at: 4.3, count: 1, maxWait: 0, outcome: 'refused' },
    ],
  },
  {
    name: 'an epoch-based origin: instants stay exact at 1.7 × 10^12 ms',
    origin: 1_764_633_600_000.25,
    limits: [one(2, 1, 100 / 3, 2)],
    steps: [
      { op: 'take', at: 1_764_633_600_000.25, count: 2, maxWait: 0, outcome: 'granted', grantAt: 1_764_633_600_000.25 },
      {
        op: 'take',
        at: 1_764_633_600_000.25,
        count: 2,
        maxWait: Infinity,
        outcome: 'reserved',
        grantAt: 1_764_633_600_066.9167,
      },
      { op: 'take', at: 1_764_633_603_300.25, count: 1, maxWait: 0, outcome: 'granted', grantAt: 1_764_633_603_300.25 },
      { op: 'peek', at: 1_764_633_603_300.25, count: 2, available: 1, wait: 33.333251953125 },
    ],
  },
  {
    name: 'two limits, 2 a second and 3 per 10 s: a grant waits for the slower one, and takes from both',
    origin: 0,
    limits: [one(2, 2, 1000, 2), one(3, 3, 10_000, 3)],
    steps: [
      { op: 'take', at: 0, count: 2, maxWait: 0, outcome: 'granted', grantAt: 0 },
      // The first limit has 2 again at 1000, the second only 1 until its step at 10 000.
      { op: 'take', at: 0, count: 2, maxWait: Infinity, outcome: 'reserved', grantAt: 10_000 },
      { op: 'take', at: 500, count: 1, maxWait: 0, outcome: 'refused' },
      // At 10 000 the first limit is left with 0 (next at 11 000), the second with 1.
      { op: 'peek', at: 500, count: 1, available: 0, wait: 10_500 },
      { op: 'take', at: 10_000, count: 1, maxWait: 0, outcome: 'refused' },
      { op: 'take', at: 11_000, count: 1, maxWait: 0, outcome: 'granted', grantAt: 11_000 },
      // The first limit holds 1, the second 0 until 20 000: the bucket holds the smaller.
      { op: 'peek', at: 11_000, count: 1, available: 0, wait: 9000 },
      { op: 'take', at: 11_000, count: 2, maxWait: Infinity, outcome: 'reserved', grantAt: 20_000 },
    ],
  },
  {
    name: 'giving back a reservation moves the ones behind it up',
    origin: 0,
    limits: [one(1, 1, 1000, 0)],
    steps: [
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 1000 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 2000 },
      { op: 'take', at: 0, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 3000 },
      { op: 'giveBack', at: 500, of: 0, keep: [1, 2], instants: [1000, 2000] },
      { op: 'peek', at: 500, count: 1, available: 0, wait: 2500 },
      // The last reservation given back alone: nothing moves, and its step is free again.
      { op: 'take', at: 600, count: 1, maxWait: Infinity, outcome: 'reserved', grantAt: 3000 },
      { op: 'giveBack', at: 700, of: 5, keep: [], instants: [] },
      { op: 'peek', at: 700, count: 1, available: 0, wait: 2300 },
    ],
  },
  {
    name: 'a give-back after the given-back instant has passed re-decides the rest at the give-back',
    origin: 0,
    limits: [one(2, 1, 1000, 0)],
    steps: [
      { op: 'take', at: 0, count: 2, maxWait: Infinity, outcome: 'reserved', grantAt: 2000 },
      { op: 'take', at: 0, count: 2, maxWait: Infinity, outcome: 'reserved', grantAt: 4000 },
      // At 2500, without the first reservation, the 2 tokens of steps 1 and 2 are there: granted now.
      { op: 'giveBack', at: 2500, of: 0, keep: [1], instants: [2000] },
      { op: 'peek', at: 2500, count: 1, available: 0, wait: 500 },
    ],
  },
];
