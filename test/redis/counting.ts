import { scriptRunner, type RedisClientLike, type RedisScriptRunner } from '../../src/redis/index.js';

/** A runner around a real client that counts the script calls made through it. */
export interface CountingRunner extends RedisScriptRunner {
  evalshaCalls: number;
  evalCalls: number;
}

export function countingRunner(client: RedisClientLike): CountingRunner {
  const inner = scriptRunner(client);
  const runner: CountingRunner = {
    evalshaCalls: 0,
    evalCalls: 0,
    evalsha: (sha, keys, args) => {
      runner.evalshaCalls += 1;
      return inner.evalsha(sha, keys, args);
    },
    eval: (script, keys, args) => {
      runner.evalCalls += 1;
      return inner.eval(script, keys, args);
    },
  };
  return runner;
}
