import { scriptRunner, type RedisClientLike, type RedisScriptRunner } from '../../src/redis/index.js';

/** One script call as a {@link GatedRunner} saw it. */
export interface SeenCall {
  /** `EVALSHA`, or `EVAL` (sent again after NOSCRIPT: the same call). */
  readonly method: 'evalsha' | 'eval';
  readonly key: string;
  readonly args: readonly string[];
}

/**
 * A runner around a real client that records every script call and can hold them back: between
 * `hold()` and `release()` the calls made wait before they reach Redis (in order), so that a test
 * decides what is "in flight". `failFrom(n, error)` makes `EVALSHA` call n (from 0) and later ones
 * reject with `error` instead of reaching Redis.
 */
export interface GatedRunner extends RedisScriptRunner {
  readonly calls: SeenCall[];
  hold(): void;
  release(): void;
  failFrom(index: number, error: Error): void;
}

export function gatedRunner(client: RedisClientLike): GatedRunner {
  const inner = scriptRunner(client);
  let gate: Promise<void> | undefined;
  let open: (() => void) | undefined;
  let failure: { from: number; error: Error } | undefined;
  const through =
    (
      method: SeenCall['method'],
      send: (first: string, keys: readonly string[], args: readonly string[]) => Promise<unknown>,
    ) =>
    async (first: string, keys: readonly string[], args: readonly string[]): Promise<unknown> => {
      const index = sent(runner).length;
      runner.calls.push({ method, key: keys[0] ?? '', args: [...args] });
      const waiting = gate;
      if (waiting !== undefined) await waiting;
      if (failure !== undefined && method === 'evalsha' && index >= failure.from) throw failure.error;
      return send(first, keys, args);
    };
  const runner: GatedRunner = {
    calls: [],
    hold() {
      gate = new Promise((resolve) => {
        open = resolve;
      });
    },
    release() {
      open?.();
      gate = undefined;
    },
    failFrom(from, error) {
      failure = { from, error };
    },
    evalsha: through('evalsha', (sha, keys, args) => inner.evalsha(sha, keys, args)),
    eval: through('eval', (script, keys, args) => inner.eval(script, keys, args)),
  };
  return runner;
}

/** The takes one recorded call of op 1 carries: the sum of its runs' `times` (runs of 3 values with Redis time, 4 with client time). */
export function takesOf(call: SeenCall, clientTime: boolean): number {
  if (call.args[0] !== '1') return 0;
  let takes = 0;
  for (let at = 4; at < call.args.length; at += clientTime ? 4 : 3) takes += Number(call.args[at]);
  return takes;
}

/** The script calls `runner` sent, each once (an `EVAL` after NOSCRIPT is the `EVALSHA` before it again). */
export function sent(runner: GatedRunner): SeenCall[] {
  return runner.calls.filter((call) => call.method === 'evalsha');
}
