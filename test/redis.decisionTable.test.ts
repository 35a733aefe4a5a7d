import { describe, expect, it } from 'vitest';
import { useScriptEval } from './redis/scriptEval.js';
import { announceSkip, redisTarget } from './redis/server.js';
import { decisionTable, type TableCase, type TableStep, type TakeStep } from './support/decisionTable.js';

// The Lua script is a declared port of the core's decide(): every case of the one table of exact
// instants, run through EVAL of the script with an explicit `now` (client time) against a real Redis,
// must reach exactly the outcomes and instants the core reaches (test/decision.table.test.ts). The
// arguments are written out here, as the script's doc comment defines them, not built by the store.
const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.decisionTable.test.ts', target.skip);

const OUTCOMES = { 1: 'granted', 2: 'refused', 3: 'reserved' } as const;

/** What one take left: the tail's origin and generation after it, and the state before it. */
interface Made {
  origin: string;
  gen: string;
  before: string[];
}

describe.skipIf('skip' in target)('the decision table, on the Lua script through EVAL', () => {
  const evalScript = useScriptEval(target);
  const prefix = `tbf-table:${process.pid}:${Date.now()}:`;

  const run = async (tableCase: TableCase, index: number, batched: boolean): Promise<void> => {
    const key = `${prefix}{${index}${batched ? ':batched' : ''}}`;
    const limits = tableCase.limits;
    const config = `0|${limits.map((l) => `${l.capacity}:${l.refillTokens}:${l.refillInterval}`).join(',')}`;
    // op, config, now, what a missing key holds (`origin|tokens,...`).
    const prefixArgs = (op: number, now: number): string[] => [
      String(op),
      config,
      String(now),
      `${tableCase.origin}|${limits.map((l) => String(l.initialTokens)).join(',')}`,
    ];
    const evaluate = async (args: string[]): Promise<unknown[]> => (await evalScript(key, ...args)) as unknown[];
    const takeLength = 3 + 2 * limits.length;
    /** The takes of the block at `offset` (origin, generation before the first, takes): each take's own generation. */
    const block = (reply: unknown[], offset: number): Array<{ status: unknown; grantAt: unknown } & Made> => {
      const origin = String(reply[offset]);
      let gen = Number(reply[offset + 1]);
      const takes: Array<{ status: unknown; grantAt: unknown } & Made> = [];
      for (let at = offset + 2; at < reply.length; at += takeLength) {
        const [status, , grantAt, ...before] = reply.slice(at, at + takeLength);
        if (status === 1 || status === 3) gen += 1;
        takes.push({ status, grantAt, origin, gen: String(gen), before: before.map(String) });
      }
      return takes;
    };
    const made = new Map<number, Made>();
    let last: { origin: string; gen: string } | undefined;
    const instantOf = (value: unknown): number => Number(value);
    const steps = tableCase.steps;
    for (let stepIndex = 0; stepIndex < steps.length; stepIndex += 1) {
      const step = steps[stepIndex] as TableStep;
      const label = `step ${stepIndex} (${step.op} at ${step.at})`;
      if (step.op === 'take') {
        // Batched: this take and the takes right after it in one call, as a batch of calls travels.
        let end = stepIndex + 1;
        while (batched && steps[end]?.op === 'take') end += 1;
        const takes = steps.slice(stepIndex, end) as TakeStep[];
        // Runs of takes with client time: times, count, maxWait, and their own now; batched, equal takes
        // in a row are one run.
        const tuples: string[] = [];
        for (const take of takes) {
          const tuple = [
            String(take.count),
            take.maxWait === Number.POSITIVE_INFINITY ? '' : String(take.maxWait),
            String(take.at),
          ];
          const run = tuples.length - 4;
          if (batched && run >= 0 && tuple.every((value, i) => value === tuples[run + 1 + i])) {
            tuples[run] = String(Number(tuples[run]) + 1);
          } else tuples.push('1', ...tuple);
        }
        const reply = await evaluate([...prefixArgs(1, step.at), ...tuples]);
        expect(reply[0], `${label}: the configuration sent is the stored one`).toBe(0);
        expect(reply, `${label}: origin, generation, one take's values per take`).toHaveLength(
          3 + takes.length * takeLength,
        );
        const replies = block(reply, 1);
        takes.forEach((take, k) => {
          const takeLabel = `step ${stepIndex + k} (take at ${take.at}${batched ? `, ${k + 1} of ${takes.length} in one call` : ''})`;
          const { status, grantAt, origin, gen, before } = replies[k] ?? {};
          const outcome = OUTCOMES[status as 1 | 2 | 3];
          expect({ outcome, grantAt: outcome === 'refused' ? undefined : instantOf(grantAt) }, takeLabel).toEqual({
            outcome: take.outcome,
            grantAt: take.grantAt,
          });
          if (outcome !== 'refused') {
            last = { origin: String(origin), gen: String(gen) };
            made.set(stepIndex + k, { ...last, before: before ?? [] });
          }
        });
        stepIndex = end - 1;
      } else if (step.op === 'peek') {
        const reply = await evaluate([...prefixArgs(0, step.at), String(step.count)]);
        expect({ available: reply[2], wait: instantOf(reply[3]) }, label).toEqual({
          available: step.available,
          wait: step.wait,
        });
      } else {
        const given = made.get(step.of);
        if (given === undefined || last === undefined) throw new Error(`${label}: step ${step.of} reserved nothing`);
        const pairs = step.keep.flatMap((kept) => {
          const keptStep = tableCase.steps[kept];
          if (keptStep?.op !== 'take') throw new Error(`${label}: step ${kept} is not a take`);
          return [String(keptStep.count), ''];
        });
        const reply = await evaluate([
          ...prefixArgs(2, step.at),
          last.origin,
          last.gen,
          String(limits.length),
          ...given.before,
          ...pairs,
        ]);
        expect(reply[1], `${label}: the tail is still where the last reservation left it`).toBe(1);
        // {cfg, 1, origin, generation after the restore, one take per pair}
        const replayed = block(reply, 2);
        expect(
          replayed.map((take) => instantOf(take.grantAt)),
          label,
        ).toEqual(step.instants);
        step.keep.forEach((kept, i) => {
          const take = replayed[i];
          if (take !== undefined) made.set(kept, { origin: take.origin, gen: take.gen, before: take.before });
        });
        const lastTake = replayed[replayed.length - 1];
        last =
          lastTake === undefined
            ? { origin: last.origin, gen: String(reply[3]) }
            : { origin: lastTake.origin, gen: lastTake.gen };
      }
    }
  };

  it.each(decisionTable.map((tableCase, index) => [tableCase.name, tableCase, index] as const))(
    '%s',
    async (_name, tableCase, index) => {
      await run(tableCase, index, false);
    },
  );

  // The same cases with every run of consecutive takes in one call, each take with its own now: a batch
  // decides exactly what the takes decide one call at a time.
  it.each(decisionTable.map((tableCase, index) => [tableCase.name, tableCase, index] as const))(
    'batched: %s',
    async (_name, tableCase, index) => {
      await run(tableCase, index, true);
    },
  );
});
