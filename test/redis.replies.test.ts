import { describe, expect, it } from 'vitest';
import { parseReply } from '../src/redis/replies.js';
import { useScriptEval } from './redis/scriptEval.js';
import { announceSkip, redisTarget } from './redis/server.js';

// The script's replies as the store reads them (src/redis/replies.ts): a table, or, for takes on the
// lean path with Redis time, one string of the same numbers.
describe('parseReply', () => {
  it('reads one string of numbers as the table of the same numbers after the 0', () => {
    const table = [0, '1700000000000', 7, 2, '99999999.123456', '1700100000000', 0, 3];
    const text = '1700000000000 7 2 99999999.123456 1700100000000 0 3';
    expect(parseReply(text, 7)).toEqual(parseReply(table, 7));
    expect(parseReply(text, 7)).toEqual({
      stored: undefined,
      values: [1700000000000, 7, 2, 99999999.123456, 1700100000000, 0, 3],
    });
  });

  it('reads %.17g text back to the very double', () => {
    const wait = 99_999_998.765_432_1;
    const text = `5 1 2 ${wait.toPrecision(17)} 100000005 0 0`;
    expect(parseReply(text, 7).values[3]).toBe(wait);
  });

  it.each([
    ['', 'empty'],
    ['1 2 3', 'fewer numbers than asked'],
    ['1 2 x 4 5 6 7', 'a word that is no number'],
    ['1  2 3 4 5 6 7', 'two spaces'],
    ['1 2 3 4 5 6 7 ', 'a trailing space'],
    ['1 2 Infinity 4 5 6 7', 'a number that is not finite'],
  ])('throws a TypeError naming the reply %j (%s)', (text) => {
    expect(() => parseReply(text, 7)).toThrow(TypeError);
    expect(() => parseReply(text, 7)).toThrow(JSON.stringify(text));
  });
});

const target = await redisTarget();
if ('skip' in target) announceSkip('test/redis.replies.test.ts', target.skip);

describe.skipIf('skip' in target)('the lean path with Redis time replies one string', () => {
  const evalScript = useScriptEval(target);
  const prefix = `tbf-replies:${process.pid}:${Date.now()}:`;

  /** One take of 1 token, maxWait 0, with Redis time: op, config, now '', a missing key full, one run. */
  const take = (key: string, config: string): Promise<unknown> => evalScript(key, '1', config, '', '', '1', '1', '0');

  it('a grant: the general path creates the key (a table), the lean path takes from it (a string)', async () => {
    const key = `${prefix}{grant}`;
    const config = '0|10:1:1000000';
    const first = await take(key, config);
    expect(Array.isArray(first)).toBe(true);
    const second = await take(key, config);
    expect(typeof second).toBe('string');
    const created = parseReply(first, 7).values;
    const [origin, gen, status, wait, grantAt, tokens, step] = parseReply(second, 7).values;
    // The same origin, one generation on, granted at the schedule's step 0, from the 9 tokens the first left.
    expect({ origin, gen, status, wait, grantAt, tokens, step }).toEqual({
      origin: created[0],
      gen: (created[1] ?? 0) + 1,
      status: 1,
      wait: 0,
      grantAt: created[0],
      tokens: 9,
      step: 0,
    });
  });

  it('a batch of two grants: one string, each take in it as alone', async () => {
    const key = `${prefix}{batch}`;
    const config = '0|10:1:1000000';
    const created = parseReply(await take(key, config), 7).values;
    const reply = await evalScript(key, '1', config, '', '', '2', '1', '0');
    expect(typeof reply).toBe('string');
    const origin = created[0];
    expect(parseReply(reply, 12).values).toEqual([origin, 1, 1, 0, origin, 9, 0, 1, 0, origin, 8, 0]);
  });

  it('a refusal: its wait after Redis TIME (µs) and its grant instant read back exactly', async () => {
    const key = `${prefix}{refusal}`;
    const config = '0|1:1:100000000';
    const first = parseReply(await take(key, config), 7).values;
    const reply = await take(key, config);
    expect(typeof reply).toBe('string');
    const [origin, , status, wait = 0, grantAt, tokens, step] = parseReply(reply, 7).values;
    expect({ origin, status, grantAt, tokens, step }).toEqual({
      origin: first[0],
      status: 2,
      grantAt: (first[0] ?? 0) + 100_000_000,
      tokens: 0,
      step: 0,
    });
    // grantAt - now, now in µs since the key's origin: within the 10 s this test may take.
    expect(wait).toBeGreaterThan(100_000_000 - 10_000);
    expect(wait).toBeLessThan(100_000_000);
  });
});
